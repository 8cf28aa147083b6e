namespace SamEngine.Batch;

/// <summary>An image the merged dataset lacks, and why.</summary>
/// <param name="Image">The image's key.</param>
/// <param name="Shard">The shard it belongs to.</param>
/// <param name="Status">"missing" (no manifest line, or its output is gone), "skipped" or "failed".</param>
/// <param name="Error">The error of a skipped or failed image.</param>
public sealed record MergeProblem(string Image, Shard Shard, string Status, string? Error);

/// <summary>What a merge found.</summary>
/// <param name="Images">Images in the merged manifest.</param>
/// <param name="Done">Of which done.</param>
/// <param name="Problems">Images missing, skipped or failed, in key order.</param>
/// <param name="MissingShards">Shards (of the count the inputs name) that no input folder holds.</param>
public sealed record MergeResult(int Images, int Done, IReadOnlyList<MergeProblem> Problems, IReadOnlyList<Shard> MissingShards)
{
    /// <summary>Whether the dataset is complete: every shard given, every image done.</summary>
    public bool Complete => Problems.Count == 0 && MissingShards.Count == 0;
}

/// <summary>
/// <c>samengine merge</c>: combines the output folders of a sharded batch into one dataset: <c>manifest.jsonl</c>
/// with every image's last line in key order (outputs as paths relative to the merged folder) and, for
/// annotation outputs (<c>sa1b</c>, <c>coco</c>), <c>coco.json</c> over every done image, the same bytes a
/// single-process run with <c>--format coco</c> writes. The outputs themselves stay where the shards wrote them.
/// </summary>
public static class BatchMerge
{
    /// <summary>Merges <paramref name="shardDirs"/> into <paramref name="outDir"/>; throws <see cref="ArgumentException"/> on folders that do not fit together.</summary>
    public static MergeResult Run(IReadOnlyList<string> shardDirs, string outDir)
    {
        if (shardDirs.Count == 0) throw new ArgumentException("merge needs at least one shard output folder");
        var shards = shardDirs.Select(d => (Dir: Path.GetFullPath(d), File: ShardFile.Read(d))).ToList();
        var format = shards[0].File.Format;
        int count = shards[0].File.Shard.Count;
        foreach (var (dir, file) in shards)
        {
            if (file.Format != format) throw new ArgumentException($"'{dir}' holds {file.Format.Name()} outputs, '{shards[0].Dir}' {format.Name()}: merge one kind");
            if (file.Shard.Count != count) throw new ArgumentException($"'{dir}' is shard {file.Shard} and '{shards[0].Dir}' shard {shards[0].File.Shard}: they come from different splits");
        }
        foreach (var group in shards.GroupBy(s => s.File.Shard.Index).Where(g => g.Count() > 1))
            throw new ArgumentException($"'{group.First().Dir}' and '{group.Skip(1).First().Dir}' are both shard {group.Key}/{count}");

        string root = Path.GetFullPath(outDir);
        Directory.CreateDirectory(root);
        var merged = new List<(string Key, ManifestEntry? Entry, Shard Shard, string Dir)>();
        foreach (var (dir, file) in shards)
        {
            var latest = Manifest.Read(Path.Combine(dir, Manifest.FileName));
            foreach (var key in file.Images) merged.Add((key, latest.GetValueOrDefault(key), file.Shard, dir));
        }
        merged.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));

        var problems = new List<MergeProblem>();
        var entries = new List<ManifestEntry>();
        foreach (var (key, entry, shard, dir) in merged)
        {
            bool present = entry is { Status: ImageStatus.Done, Output: { } o } && Path.Exists(Path.Combine(dir, o));
            if (entry is null || (entry.Status == ImageStatus.Done && !present))
            {
                problems.Add(new MergeProblem(key, shard, "missing", null));
                continue;
            }
            if (entry.Status != ImageStatus.Done) problems.Add(new MergeProblem(key, shard, ManifestEntry.StatusName(entry.Status), entry.Error));
            // Outputs stay in the shard folders; the merged manifest points at them from the merged folder.
            entries.Add(entry.Output is null ? entry : entry with { Output = Path.GetRelativePath(root, Path.Combine(dir, entry.Output)).Replace('\\', '/') });
        }

        AtomicOutput.WriteFile(Path.Combine(root, Manifest.FileName), temp =>
            File.WriteAllLines(temp, entries.Select(e => e.ToJson())));
        if (format is BatchFormat.Sa1b or BatchFormat.Coco) BatchRunner.WriteCoco(root, entries);
        var missingShards = Enumerable.Range(0, count).Where(i => shards.All(s => s.File.Shard.Index != i)).Select(i => new Shard(i, count)).ToArray();
        return new MergeResult(entries.Count, entries.Count(e => e.Status == ImageStatus.Done), problems, missingShards);
    }
}
