namespace SamEngine.Cli;

/// <summary>
/// Output files written all or nothing: each is written to a hidden temporary name in its folder and
/// renamed only when every one of them has been written, so a failure never leaves partial output.
/// </summary>
public sealed class StagedOutputs
{
    private readonly List<(string Path, Action<string> Write)> _files = [];

    /// <summary>Adds a file to write with these bytes.</summary>
    public void Add(string path, byte[] data) => Add(path, temp => File.WriteAllBytes(temp, data));

    /// <summary>Adds a file that <paramref name="write"/> writes to the path it is given.</summary>
    public void Add(string path, Action<string> write) => _files.Add((path, write));

    /// <summary>Writes every file to a temporary name, then renames them all; on failure removes the temporaries.</summary>
    public void Commit()
    {
        var temps = new List<(string Temp, string Final)>();
        try
        {
            foreach (var (path, write) in _files)
            {
                string full = Path.GetFullPath(path);
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
                temps.Add((temp, full));
                write(temp);
            }
            foreach (var (temp, final) in temps) File.Move(temp, final, overwrite: true);
        }
        catch
        {
            foreach (var (temp, _) in temps)
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
