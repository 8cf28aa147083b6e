namespace SamEngine.Tests.Deploy;

/// <summary>The files under deploy/ in this checkout.</summary>
internal static class DeployFiles
{
    /// <summary>deploy/<paramref name="relative"/> under the repository root (found above the test binaries).</summary>
    public static string Path(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "SamEngine.sln"))) return System.IO.Path.Combine(dir.FullName, "deploy", relative);
        throw new InvalidOperationException("no SamEngine.sln above the test binaries");
    }
}
