using System.Text;

namespace SamEngine.Batch;

/// <summary>
/// A batch's <c>manifest.jsonl</c>, opened for appending: each finished image adds one line, flushed to
/// disk before the next image is recorded, so a run killed at any instant leaves every line but possibly
/// a torn last one, which <see cref="Open"/> cuts off. An image may have several lines (a failed image
/// tried again by a rerun); the last one counts.
/// </summary>
public sealed class Manifest : IDisposable
{
    /// <summary>The manifest's file name in the output folder.</summary>
    public const string FileName = "manifest.jsonl";

    private readonly FileStream _file;

    private Manifest(FileStream file, Dictionary<string, ManifestEntry> latest) => (_file, Latest) = (file, latest);

    /// <summary>The last entry of each image, including those appended since opening.</summary>
    public Dictionary<string, ManifestEntry> Latest { get; }

    /// <summary>
    /// Opens (or creates) the manifest at <paramref name="path"/>, drops a torn last line and reads the
    /// rest; throws <see cref="FormatException"/> naming the line that is not an entry.
    /// </summary>
    public static Manifest Open(string path)
    {
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            var bytes = new byte[file.Length];
            file.ReadExactly(bytes);
            int end = bytes.AsSpan().LastIndexOf((byte)'\n') + 1; // a line without its newline was cut off mid-write
            file.SetLength(end);
            file.Position = end;
            return new Manifest(file, ReadLatest(Encoding.UTF8.GetString(bytes, 0, end), path));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The last entry of each image in a manifest file (complete lines only); empty when there is none.</summary>
    public static Dictionary<string, ManifestEntry> Read(string path)
    {
        if (!File.Exists(path)) return new Dictionary<string, ManifestEntry>(StringComparer.Ordinal);
        string text = File.ReadAllText(path);
        return ReadLatest(text[..(text.LastIndexOf('\n') + 1)], path);
    }

    private static Dictionary<string, ManifestEntry> ReadLatest(string text, string path)
    {
        var latest = new Dictionary<string, ManifestEntry>(StringComparer.Ordinal);
        int number = 0;
        foreach (var line in text.Split('\n'))
        {
            number++;
            if (line.Length == 0) continue;
            ManifestEntry entry;
            try { entry = ManifestEntry.Parse(line); }
            catch (FormatException e) { throw new FormatException($"'{path}' line {number} is not a manifest entry: {e.Message}", e); }
            latest[entry.Image] = entry;
        }
        return latest;
    }

    /// <summary>Appends <paramref name="entry"/> as one line and flushes it to disk.</summary>
    public void Append(ManifestEntry entry)
    {
        _file.Write(Encoding.UTF8.GetBytes(entry.ToJson() + "\n"));
        _file.Flush(flushToDisk: true);
        Latest[entry.Image] = entry;
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
