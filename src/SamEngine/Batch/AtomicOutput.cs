using System.Text.RegularExpressions;

namespace SamEngine.Batch;

/// <summary>
/// Writes an output file or folder all or nothing: to a hidden temporary name beside it
/// (<c>.NAME.&lt;32 hex&gt;.tmp</c>), flushed to disk, then renamed over the final name. A run killed
/// meanwhile leaves only the temporary, which <see cref="RemoveLeftovers"/> deletes when the batch starts again.
/// </summary>
public static partial class AtomicOutput
{
    /// <summary>Writes the file <paramref name="path"/>: <paramref name="write"/> gets the temporary path to write to.</summary>
    public static void WriteFile(string path, Action<string> write)
    {
        string temp = TempName(path);
        try
        {
            write(temp);
            FlushToDisk(temp);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Writes the folder <paramref name="path"/>: <paramref name="write"/> fills the temporary folder it gets;
    /// an older folder of that name is replaced.
    /// </summary>
    public static void WriteFolder(string path, Action<string> write)
    {
        string temp = TempName(path);
        try
        {
            Directory.CreateDirectory(temp);
            write(temp);
            foreach (var file in Directory.EnumerateFiles(temp)) FlushToDisk(file);
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            Directory.Move(temp, path);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Deletes temporaries that a killed run left anywhere under <paramref name="root"/>.</summary>
    public static void RemoveLeftovers(string root)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(root, ".*.tmp", SearchOption.AllDirectories))
            if (TempPattern().IsMatch(Path.GetFileName(entry))) TryDelete(entry);
    }

    private static string TempName(string path)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
    }

    private static void FlushToDisk(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [GeneratedRegex(@"^\..+\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex TempPattern();
}
