namespace SamEngine.Batch;

/// <summary>
/// One input image of a batch.
/// </summary>
/// <param name="Key">Its path relative to the input root, with '/' separators (<c>a/b.jpg</c>): the name it has in the manifest and the path its output mirrors.</param>
/// <param name="FullPath">Where it is on disk.</param>
/// <param name="Id">1 + its index in the whole sorted list (before sharding): the same image id in every shard and in a single-process run.</param>
public sealed record BatchImage(string Key, string FullPath, int Id);
