namespace SamEngine.Processing;

/// <summary>
/// Geometry of the official <c>ResizeLongestSide</c> transform
/// (segment_anything/utils/transforms.py): the image is scaled so that its longest side equals
/// the model's <c>img_size</c>, and prompt coordinates follow the same scale.
/// </summary>
public static class ResizeLongestSide
{
    /// <summary>
    /// Size of the resized image, as <c>get_preprocess_shape</c>: scale = longSide / max(h, w),
    /// then <c>int(h * scale + 0.5)</c>, <c>int(w * scale + 0.5)</c> in double arithmetic.
    /// </summary>
    public static (int H, int W) TargetSize(int h, int w, int longSide)
    {
        if (h <= 0 || w <= 0) throw new ArgumentOutOfRangeException(nameof(h), "image size must be positive");
        double scale = longSide * 1.0 / Math.Max(h, w);
        return ((int)(h * scale + 0.5), (int)(w * scale + 0.5));
    }

    /// <summary>
    /// Maps interleaved (x, y) pairs from original-image pixels to resized-image pixels, as
    /// <c>apply_coords</c>: x * (w' / W), y * (h' / H). The official code works on a float64 copy,
    /// and the predictor then turns the result into a float32 tensor, hence double math and one cast.
    /// </summary>
    public static float[] ApplyCoords(ReadOnlySpan<float> xy, int origH, int origW, int longSide)
    {
        if (xy.Length % 2 != 0) throw new ArgumentException("coordinates must be (x, y) pairs", nameof(xy));
        var (newH, newW) = TargetSize(origH, origW, longSide);
        double sx = (double)newW / origW, sy = (double)newH / origH;
        var result = new float[xy.Length];
        for (int i = 0; i < xy.Length; i += 2)
        {
            result[i] = (float)(xy[i] * sx);
            result[i + 1] = (float)(xy[i + 1] * sy);
        }
        return result;
    }
}
