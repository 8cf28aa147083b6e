using SamEngine.Cli;

namespace SamEngine.Tests.Cli;

/// <summary>Runs <c>samengine</c> in-process and captures its exit code, stdout and stderr.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliMain.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
