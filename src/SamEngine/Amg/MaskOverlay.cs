namespace SamEngine.Amg;

/// <summary>
/// Draws every mask over the image in its own colour, largest first so that small masks stay visible
/// (as the official notebooks' <c>show_anns</c> orders them).
/// </summary>
public static class MaskOverlay
{
    /// <summary>How much of a mask's colour covers the image under it.</summary>
    public const float Opacity = 0.5f;

    /// <summary>Returns a copy of the RGB image (HWC bytes) with the masks blended in.</summary>
    public static byte[] Draw(byte[] rgb, int height, int width, IReadOnlyList<MaskRecord> records)
    {
        if (rgb.Length != (long)height * width * 3) throw new ArgumentException($"image of {rgb.Length} bytes is not {height} x {width} x 3 RGB");
        var result = (byte[])rgb.Clone();
        var order = Enumerable.Range(0, records.Count).OrderByDescending(i => records[i].Area).ToArray();
        foreach (int i in order)
        {
            var rle = records[i].Segmentation.Rle;
            if (rle.Height != height || rle.Width != width)
                throw new ArgumentException($"mask {i} is {rle.Height} x {rle.Width}, the image {height} x {width}");
            var colour = Colour(i);
            int index = 0;
            for (int r = 0; r < rle.Counts.Length; r++)
            {
                int count = rle.Counts[r];
                if ((r & 1) == 1)
                    for (int k = index; k < index + count; k++)
                    {
                        int p = (k % height * width + k / height) * 3; // column-major run → row-major pixel
                        for (int c = 0; c < 3; c++) result[p + c] = (byte)(result[p + c] * (1 - Opacity) + colour[c] * Opacity + 0.5f);
                    }
                index += count;
            }
        }
        return result;
    }

    /// <summary>A bright colour per mask index: hues spaced by the golden angle, so neighbours differ.</summary>
    public static byte[] Colour(int index)
    {
        double hue = (index * 0.618033988749895) % 1.0 * 6;
        int sector = (int)hue;
        double f = hue - sector;
        double v = 1.0, s = 0.75, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
        var (r, g, b) = sector switch
        {
            0 => (v, t, p), 1 => (q, v, p), 2 => (p, v, t), 3 => (p, q, v), 4 => (t, p, v), _ => (v, p, q),
        };
        return [(byte)(r * 255 + 0.5), (byte)(g * 255 + 0.5), (byte)(b * 255 + 0.5)];
    }
}
