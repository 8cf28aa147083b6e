using System.Diagnostics;

namespace SamEngine.Tests.Cli;

/// <summary>Runs <c>samengine</c> as a child process (the built SamEngine.Cli.dll beside the tests), for what needs a process of its own: environment variables, being killed.</summary>
internal static class CliProcess
{
    /// <summary>The start info of <c>dotnet SamEngine.Cli.dll args</c>, output captured, with <paramref name="env"/> added.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, params (string Name, string? Value)[] env)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SamEngine.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        // A scheduler's variables in the test's own environment must not leak into a child that does not ask for them.
        foreach (var name in (string[])["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "JOB_COMPLETION_INDEX"])
            info.Environment.Remove(name);
        foreach (var (name, value) in env) info.Environment[name] = value;
        return info;
    }

    /// <summary>Runs to the end; the exit code, stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(IEnumerable<string> args, params (string Name, string? Value)[] env)
    {
        using var process = Process.Start(StartInfo(args, env))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
