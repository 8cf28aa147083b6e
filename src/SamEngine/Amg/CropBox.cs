namespace SamEngine.Amg;

/// <summary>A box in pixels, XYXY: <see cref="X0"/>, <see cref="Y0"/> inclusive; what X1/Y1 mean depends on use.</summary>
public readonly record struct PixelBox(int X0, int Y0, int X1, int Y1)
{
    /// <summary>The box as [x, y, w, h] (<c>box_xyxy_to_xywh</c>: w = x1 - x0, h = y1 - y0).</summary>
    public int[] ToXywh() => [X0, Y0, X1 - X0, Y1 - Y0];

    /// <summary>(x1 - x0) · (y1 - y0), as torchvision's <c>box_area</c>.</summary>
    public long Area => (long)(X1 - X0) * (Y1 - Y0);

    /// <summary>The box moved by (dx, dy).</summary>
    public PixelBox Offset(int dx, int dy) => new(X0 + dx, Y0 + dy, X1 + dx, Y1 + dy);
}

/// <summary>
/// Crop boxes of the official generator (<c>generate_crop_boxes</c>, <c>is_box_near_crop_edge</c>):
/// the whole image, then for layer i a 2^i x 2^i grid of overlapping crops.
/// Crop boxes are XYXY with exclusive X1/Y1 (the slice image[y0:y1, x0:x1]).
/// </summary>
public static class CropBoxes
{
    /// <summary>Distance in pixels under which a mask box counts as touching a crop edge (<c>atol</c>).</summary>
    public const float EdgeTolerance = 20f;

    /// <summary>The crop boxes and the layer of each: the whole image first, then layer by layer.</summary>
    public static IReadOnlyList<(PixelBox Box, int Layer)> Generate(int height, int width, int nLayers, double overlapRatio)
    {
        var crops = new List<(PixelBox, int)> { (new PixelBox(0, 0, width, height), 0) };
        int shortSide = Math.Min(height, width);
        for (int layer = 0; layer < nLayers; layer++)
        {
            int perSide = 1 << (layer + 1);
            int overlap = (int)(overlapRatio * shortSide * (2.0 / perSide));
            int cropW = CropLength(width, perSide, overlap), cropH = CropLength(height, perSide, overlap);
            // x outer, y inner, as itertools.product(x0s, y0s).
            for (int i = 0; i < perSide; i++)
                for (int j = 0; j < perSide; j++)
                {
                    int x0 = (int)((double)(cropW - overlap) * i), y0 = (int)((double)(cropH - overlap) * j);
                    crops.Add((new PixelBox(x0, y0, Math.Min(x0 + cropW, width), Math.Min(y0 + cropH, height)), layer + 1));
                }
        }
        return crops;
    }

    private static int CropLength(int length, int count, int overlap) =>
        (int)Math.Ceiling((overlap * (count - 1.0) + length) / count);

    /// <summary>
    /// Whether a mask box (crop frame, inclusive X1/Y1) lies within <see cref="EdgeTolerance"/> of an
    /// edge of its crop that is not also an edge of the image (such masks are likely cut off by the crop).
    /// </summary>
    public static bool IsNearCropEdge(PixelBox maskBox, PixelBox crop, int imageHeight, int imageWidth)
    {
        var box = maskBox.Offset(crop.X0, crop.Y0);
        ReadOnlySpan<float> b = [box.X0, box.Y0, box.X1, box.Y1];
        ReadOnlySpan<float> c = [crop.X0, crop.Y0, crop.X1, crop.Y1];
        ReadOnlySpan<float> o = [0, 0, imageWidth, imageHeight];
        for (int k = 0; k < 4; k++)
            if (Close(b[k], c[k]) && !Close(b[k], o[k])) return true;
        return false;
    }

    // torch.isclose with rtol = 0: |a - b| <= atol, in float32.
    private static bool Close(float a, float b) => MathF.Abs(a - b) <= EdgeTolerance;
}
