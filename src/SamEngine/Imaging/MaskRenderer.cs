using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Imaging;

/// <summary>Turns predicted masks into pictures: a black-and-white PNG per mask, and an overlay.</summary>
public static class MaskRenderer
{
    /// <summary>Colours of successive masks in the overlay (RGB).</summary>
    private static readonly byte[][] Palette =
    [
        [30, 144, 255], [255, 140, 0], [50, 205, 50], [220, 20, 60], [186, 85, 211], [0, 206, 209],
    ];

    /// <summary>Encodes a 0/1 mask (H x W bytes) as an 8-bit grayscale PNG (0 or 255).</summary>
    public static byte[] MaskPng(ReadOnlySpan<byte> mask, int height, int width)
    {
        if (mask.Length != height * width) throw new ArgumentException($"mask of {mask.Length} pixels is not {height} x {width}");
        var gray = new byte[mask.Length];
        for (int i = 0; i < gray.Length; i++) gray[i] = mask[i] != 0 ? (byte)255 : (byte)0;
        using var img = Image.LoadPixelData<L8>(gray, width, height);
        return Encode(img);
    }

    /// <summary>
    /// Draws the masks over the image, each in its own translucent colour with a solid outline, and
    /// marks the prompts: foreground points as green dots, background points as red dots, the box as
    /// a yellow rectangle. <paramref name="masks"/> holds the masks one after another (M x H x W).
    /// </summary>
    public static byte[] OverlayPng(RgbImage image, ReadOnlySpan<byte> masks, int maskCount,
        IReadOnlyList<(float X, float Y, int Label)> points, float[]? box)
    {
        int h = image.Height, w = image.Width;
        if (masks.Length != maskCount * h * w) throw new ArgumentException($"{maskCount} masks of {h} x {w} do not fill {masks.Length} bytes");
        var px = (byte[])image.Pixels.Clone();
        for (int m = 0; m < maskCount; m++)
        {
            var colour = Palette[m % Palette.Length];
            var mask = masks.Slice(m * h * w, h * w);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    if (mask[y * w + x] == 0) continue;
                    bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1
                        || mask[y * w + x - 1] == 0 || mask[y * w + x + 1] == 0 || mask[(y - 1) * w + x] == 0 || mask[(y + 1) * w + x] == 0;
                    Blend(px, (y * w + x) * 3, colour, edge ? 1f : 0.5f);
                }
        }
        int marker = Math.Max(3, Math.Min(h, w) / 80);
        if (box is { Length: 4 }) DrawRectangle(px, h, w, box, [255, 215, 0], Math.Max(1, marker / 2));
        foreach (var (x, y, label) in points)
            DrawDot(px, h, w, x, y, marker, label == 1 ? [0, 200, 0] : [230, 0, 0]);
        using var img = Image.LoadPixelData<Rgb24>(px, w, h);
        return Encode(img);
    }

    private static void Blend(byte[] px, int at, byte[] colour, float alpha)
    {
        for (int c = 0; c < 3; c++) px[at + c] = (byte)MathF.Round(px[at + c] * (1 - alpha) + colour[c] * alpha);
    }

    /// <summary>A filled disc with a white ring, so it shows on any background.</summary>
    private static void DrawDot(byte[] px, int h, int w, float cx, float cy, int radius, byte[] colour)
    {
        int ring = radius + Math.Max(1, radius / 3);
        for (int y = (int)MathF.Floor(cy - ring); y <= (int)MathF.Ceiling(cy + ring); y++)
            for (int x = (int)MathF.Floor(cx - ring); x <= (int)MathF.Ceiling(cx + ring); x++)
            {
                if (x < 0 || y < 0 || x >= w || y >= h) continue;
                float d = MathF.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
                if (d <= radius) Blend(px, (y * w + x) * 3, colour, 1f);
                else if (d <= ring) Blend(px, (y * w + x) * 3, [255, 255, 255], 1f);
            }
    }

    private static void DrawRectangle(byte[] px, int h, int w, float[] box, byte[] colour, int thickness)
    {
        int x0 = Math.Clamp((int)MathF.Round(box[0]), 0, w - 1), y0 = Math.Clamp((int)MathF.Round(box[1]), 0, h - 1);
        int x1 = Math.Clamp((int)MathF.Round(box[2]), 0, w - 1), y1 = Math.Clamp((int)MathF.Round(box[3]), 0, h - 1);
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                bool onEdge = x - x0 < thickness || x1 - x < thickness || y - y0 < thickness || y1 - y < thickness;
                if (onEdge) Blend(px, (y * w + x) * 3, colour, 1f);
            }
    }

    private static byte[] Encode(Image img)
    {
        using var ms = new MemoryStream();
        img.Save(ms, new PngEncoder { CompressionLevel = PngCompressionLevel.DefaultCompression });
        return ms.ToArray();
    }
}
