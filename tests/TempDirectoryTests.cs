namespace SamEngine.Tests;

/// <summary>Tests that write files: a fresh temporary folder per test (xunit makes one instance per test), deleted after it.</summary>
public abstract class TempDirectoryTests(string prefix) : IDisposable
{
    /// <summary>The folder, empty at the start of the test.</summary>
    protected string TempDir { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <inheritdoc />
    public void Dispose()
    {
        Directory.Delete(TempDir, recursive: true);
        GC.SuppressFinalize(this);
    }
}
