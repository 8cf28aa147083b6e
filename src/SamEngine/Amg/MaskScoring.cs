namespace SamEngine.Amg;

/// <summary>
/// What the generator needs from one plane of mask logits, in one pass: the stability score
/// (<c>calculate_stability_score</c>) and the box of the binary mask (<c>batched_mask_to_box</c>).
/// </summary>
public static class MaskScoring
{
    /// <summary>
    /// IoU of the masks thresholded at <paramref name="maskThreshold"/> ± <paramref name="offset"/>
    /// (the higher one lies inside the lower one, so it is a ratio of counts). As upstream, each row is
    /// counted in int16 (wrapping past 32767 columns) and rows are summed in int32; the ratio is float32,
    /// NaN when both masks are empty.
    /// </summary>
    public static float StabilityScore(ReadOnlySpan<float> logits, int height, int width, double maskThreshold, double offset)
    {
        var (inter, union) = CountAbove(logits, height, width, (float)(maskThreshold + offset), (float)(maskThreshold - offset));
        return (float)inter / union;
    }

    /// <summary>
    /// The int16-per-row, int32-total counts of logits above <paramref name="high"/> and above
    /// <paramref name="low"/>.
    /// </summary>
    internal static (int High, int Low) CountAbove(ReadOnlySpan<float> logits, int height, int width, float high, float low)
    {
        if (logits.Length != height * width) throw new ArgumentException($"{logits.Length} logits are not {height} x {width}");
        int totalHigh = 0, totalLow = 0;
        for (int y = 0; y < height; y++)
        {
            var row = logits.Slice(y * width, width);
            int rowHigh = 0, rowLow = 0;
            foreach (float v in row)
            {
                rowHigh += v > high ? 1 : 0;
                rowLow += v > low ? 1 : 0;
            }
            totalHigh += unchecked((short)rowHigh);
            totalLow += unchecked((short)rowLow);
        }
        return (totalHigh, totalLow);
    }

    /// <summary>
    /// The box XYXY (inclusive bounds) of the logits above <paramref name="maskThreshold"/>, or
    /// (0, 0, 0, 0) for an empty mask.
    /// </summary>
    public static PixelBox MaskBox(ReadOnlySpan<float> logits, int height, int width, float maskThreshold)
    {
        if (logits.Length != height * width) throw new ArgumentException($"{logits.Length} logits are not {height} x {width}");
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = -1, y1 = -1;
        for (int y = 0; y < height; y++)
        {
            var row = logits.Slice(y * width, width);
            int first = -1, last = -1;
            for (int x = 0; x < width; x++)
            {
                if (row[x] > maskThreshold)
                {
                    if (first < 0) first = x;
                    last = x;
                }
            }
            if (first < 0) continue;
            if (y0 == int.MaxValue) y0 = y;
            y1 = y;
            x0 = Math.Min(x0, first);
            x1 = Math.Max(x1, last);
        }
        return x1 < 0 ? new PixelBox(0, 0, 0, 0) : new PixelBox(x0, y0, x1, y1);
    }

    /// <summary>The box of a row-major binary mask (nonzero = set), as <see cref="MaskBox(ReadOnlySpan{float}, int, int, float)"/>.</summary>
    public static PixelBox MaskBox(ReadOnlySpan<byte> mask, int height, int width)
    {
        if (mask.Length != height * width) throw new ArgumentException($"mask of {mask.Length} pixels is not {height} x {width}");
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = -1, y1 = -1;
        for (int y = 0; y < height; y++)
        {
            var row = mask.Slice(y * width, width);
            int first = row.IndexOfAnyExcept((byte)0);
            if (first < 0) continue;
            int last = row.LastIndexOfAnyExcept((byte)0);
            if (y0 == int.MaxValue) y0 = y;
            y1 = y;
            x0 = Math.Min(x0, first);
            x1 = Math.Max(x1, last);
        }
        return x1 < 0 ? new PixelBox(0, 0, 0, 0) : new PixelBox(x0, y0, x1, y1);
    }
}
