using System.Text.RegularExpressions;

namespace SamEngine.Batch;

/// <summary>
/// The images a batch runs over, from <c>--images</c>: a folder (searched recursively for image files,
/// hidden entries skipped), a list file (<c>.txt</c>: one path per line, relative to the list's folder;
/// blank lines and <c># comments</c> ignored), or a glob (<c>*</c>, <c>?</c> within a name, <c>**</c>
/// across folders). Keys are relative to the folder, to the folder all listed paths share, or to the
/// glob's fixed leading folders; the list is sorted by key (ordinal), so every shard sees the same order.
/// </summary>
public static class ImageList
{
    /// <summary>The extensions a folder or glob search takes as images (case-insensitive).</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        { ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff" };

    /// <summary>
    /// Resolves <paramref name="spec"/>; a folder search leaves out everything under <paramref name="exclude"/>
    /// (the output folder when it lies inside the input). Throws <see cref="ArgumentException"/> naming the
    /// problem: nothing matches, the spec is neither a folder, a list nor a glob, or two images would write
    /// the same output (<paramref name="outputName"/> maps a key to its output's relative path).
    /// </summary>
    public static IReadOnlyList<BatchImage> Resolve(string spec, string? exclude, Func<string, string> outputName)
    {
        var (root, files) = Directory.Exists(spec) ? (Path.GetFullPath(spec), SearchFolder(Path.GetFullPath(spec), exclude))
            : File.Exists(spec) ? ReadList(spec)
            : spec.IndexOfAny(['*', '?']) >= 0 ? Glob(spec, exclude)
            : throw new ArgumentException($"--images '{spec}' is not a folder, a list file or a glob that exists");
        var keyed = files.Select(f => (Key: Path.GetRelativePath(root, f).Replace('\\', '/'), Full: f))
            .DistinctBy(f => f.Key, StringComparer.Ordinal)
            .OrderBy(f => f.Key, StringComparer.Ordinal)
            .ToList();
        if (keyed.Count == 0) throw new ArgumentException($"--images '{spec}' names no images");
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, _) in keyed)
            if (!outputs.TryAdd(outputName(key), key))
                throw new ArgumentException($"images '{outputs[outputName(key)]}' and '{key}' would both write '{outputName(key)}'; rename one");
        return keyed.Select((f, i) => new BatchImage(f.Key, f.Full, i + 1)).ToArray();
    }

    private static IEnumerable<string> SearchFolder(string root, string? exclude)
    {
        string? skip = exclude is null ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(exclude));
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            string dir = pending.Pop();
            if (skip is not null && string.Equals(Path.TrimEndingDirectorySeparator(dir), skip, StringComparison.Ordinal)) continue;
            foreach (var sub in Directory.EnumerateDirectories(dir))
                if (!Path.GetFileName(sub).StartsWith('.')) pending.Push(sub);
            foreach (var file in Directory.EnumerateFiles(dir))
                if (!Path.GetFileName(file).StartsWith('.') && Extensions.Contains(Path.GetExtension(file))) yield return file;
        }
    }

    /// <summary>A list file: its paths, and as root the deepest folder holding them all.</summary>
    private static (string Root, List<string> Files) ReadList(string list)
    {
        if (Extensions.Contains(Path.GetExtension(list)))
            throw new ArgumentException($"--images '{list}' is an image; a batch takes a folder, a list file (.txt) or a glob (use --image for one image)");
        string baseDir = Path.GetDirectoryName(Path.GetFullPath(list))!;
        var files = File.ReadLines(list).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => Path.GetFullPath(l, baseDir)).ToList();
        if (files.Count == 0) throw new ArgumentException($"list '{list}' names no images");
        return (CommonFolder(files), files);
    }

    private static string CommonFolder(IReadOnlyList<string> files)
    {
        string common = Path.GetDirectoryName(files[0])!;
        foreach (var f in files)
            while (!f.StartsWith(Path.TrimEndingDirectorySeparator(common) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                common = Path.GetDirectoryName(common) ?? throw new ArgumentException("listed images share no folder");
        return common;
    }

    /// <summary>A glob: its fixed leading folders are the root, the rest a pattern over paths below it.</summary>
    private static (string Root, List<string> Files) Glob(string pattern, string? exclude)
    {
        string full = Path.GetFullPath(pattern).Replace('\\', '/');
        var parts = full.Split('/');
        int firstWild = Array.FindIndex(parts, p => p.IndexOfAny(['*', '?']) >= 0);
        string root = string.Join('/', parts[..firstWild]);
        if (root.Length == 0) root = "/";
        if (!Directory.Exists(root)) throw new ArgumentException($"--images '{pattern}': folder '{root}' does not exist");
        var regex = new Regex("^" + string.Concat(parts[firstWild..].Select((s, i) =>
            s == "**" ? "(?:[^/]+/)*" : Segment(s) + (i < parts.Length - firstWild - 1 ? "/" : ""))) + "$", RegexOptions.CultureInvariant);
        var files = SearchFolder(root, exclude).Where(f => regex.IsMatch(Path.GetRelativePath(root, f).Replace('\\', '/'))).ToList();
        return (Path.GetFullPath(root), files);

        // ** is any number of folders; * and ? stay within a name.
        static string Segment(string s) => Regex.Escape(s).Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]");
    }
}
