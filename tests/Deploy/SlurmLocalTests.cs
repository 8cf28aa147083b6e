using System.Diagnostics;

namespace SamEngine.Tests.Deploy;

/// <summary>
/// The batch on a real scheduler: deploy/slurm/test-local-slurm.sh starts a one-node Slurm on localhost
/// (installing slurm-wlm and munge with apt-get when missing), runs the array job over a dozen images in
/// three shards with the tiny model, merges, and compares with a single-process run. Category Slurm: it
/// needs root and takes a minute or two; it skips, saying why, elsewhere.
/// </summary>
public class SlurmLocalTests
{
    [SlurmFact]
    [Trait("Category", "Slurm")]
    public void ArrayJobOnALocalSlurmMergesToTheSingleProcessDataset()
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(DeployFiles.Path("slurm/test-local-slurm.sh"));
        info.Environment["SAMENGINE_DLL"] = Path.Combine(AppContext.BaseDirectory, "SamEngine.Cli.dll");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("test-local-slurm.sh ran over 8 minutes");
        }
        Assert.True(process.ExitCode == 0, stderr.Result + stdout.Result);
        Assert.StartsWith("slurm: PASS", stdout.Result);
    }
}

/// <summary>Runs only as root on Linux with bash and python3 (the script installs packages and starts daemons).</summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    /// <summary>Skips with the reason where the local Slurm cannot be started.</summary>
    public SlurmFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "the local Slurm test runs on Linux";
        else if (Environment.UserName != "root") Skip = "the local Slurm test needs root (run: sudo deploy/slurm/test-local-slurm.sh)";
        else if (!OnPath("python3") || !OnPath("bash")) Skip = "the local Slurm test needs bash and python3";
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, tool)));
}
