namespace SamEngine.Evaluation;

/// <summary>Intersection over union of two binary masks (H x W bytes, 1 = object) of the same image.</summary>
internal static class MaskIou
{
    /// <summary>|a ∩ b| / |a ∪ b|; 0 when both are empty.</summary>
    public static double Of(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"masks of {a.Length} and {b.Length} pixels");
        long intersection = 0, union = 0;
        for (int i = 0; i < a.Length; i++)
        {
            int x = a[i] != 0 ? 1 : 0, y = b[i] != 0 ? 1 : 0;
            intersection += x & y;
            union += x | y;
        }
        return union == 0 ? 0 : (double)intersection / union;
    }
}
