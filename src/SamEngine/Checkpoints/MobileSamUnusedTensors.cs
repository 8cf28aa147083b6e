namespace SamEngine.Checkpoints;

/// <summary>
/// The tensors of an official MobileSAM checkpoint (<c>mobile_sam.pt</c>) that SAM never reads: TinyViT's
/// classifier head (<c>image_encoder.norm_head</c>, <c>image_encoder.head</c>), which its
/// <c>forward</c> skips, and the BatchNorm counters <c>num_batches_tracked</c> (int64, training only).
/// They are left out and named in one line.
/// </summary>
public static class MobileSamUnusedTensors
{
    private static readonly string[] HeadPrefixes = ["image_encoder.head.", "image_encoder.norm_head."];

    /// <summary>Whether <paramref name="name"/> is one of them.</summary>
    public static bool IsUnused(string name) =>
        name.EndsWith(".num_batches_tracked", StringComparison.Ordinal) || HeadPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    /// <summary>One line naming what was left out, or null when nothing was.</summary>
    public static string? Notice(IReadOnlyList<string> ignored)
    {
        if (ignored.Count == 0) return null;
        int counters = ignored.Count(n => n.EndsWith(".num_batches_tracked", StringComparison.Ordinal));
        var parts = new List<string>();
        if (counters > 0) parts.Add($"{counters} BatchNorm num_batches_tracked counters");
        if (ignored.Count > counters) parts.Add($"TinyViT's classifier head ({ignored.Count - counters}: image_encoder.head.*, image_encoder.norm_head.*)");
        return $"ignored {ignored.Count} tensors SAM never reads: {string.Join(", ", parts)}";
    }
}
