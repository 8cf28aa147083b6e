namespace SamEngine.Amg;

/// <summary>
/// The official <c>postprocess_small_regions</c>: fills small holes and removes small islands of every
/// mask, then runs box NMS again, preferring masks that needed no change.
/// </summary>
internal static class SmallRegionCleanup
{
    public static List<MaskCandidate> Apply(List<MaskCandidate> masks, int minArea, double nmsThreshold)
    {
        if (masks.Count == 0) return masks;
        var cleaned = new (byte[] Mask, bool Changed)[masks.Count];
        Parallel.For(0, masks.Count, i =>
        {
            var rle = masks[i].Rle;
            var (mask, holesChanged) = SmallRegions.Remove(rle.ToMask(), rle.Height, rle.Width, minArea, SmallRegions.Mode.Holes);
            var (result, islandsChanged) = SmallRegions.Remove(mask, rle.Height, rle.Width, minArea, SmallRegions.Mode.Islands);
            cleaned[i] = (result, holesChanged || islandsChanged);
        });
        var boxes = cleaned.Select((c, i) => MaskScoring.MaskBox(c.Mask, masks[i].Rle.Height, masks[i].Rle.Width)).ToArray();
        var scores = cleaned.Select(c => c.Changed ? 0f : 1f).ToArray();
        var keep = BoxNms.Run(boxes, scores, nmsThreshold);
        // Only changed masks get a new RLE and box; the others keep theirs.
        return keep.Select(i => cleaned[i].Changed
            ? masks[i] with { Rle = RunLengthEncoding.FromMask(cleaned[i].Mask, masks[i].Rle.Height, masks[i].Rle.Width), Box = boxes[i] }
            : masks[i]).ToList();
    }
}
