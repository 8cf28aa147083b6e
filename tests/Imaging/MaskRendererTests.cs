using SamEngine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Tests.Imaging;

public class MaskRendererTests
{
    [Fact]
    public void MaskPngIsBlackAndWhite()
    {
        byte[] mask = [0, 1, 1, 0, 0, 1];
        using var img = Image.Load<L8>(MaskRenderer.MaskPng(mask, 2, 3));
        Assert.Equal((3, 2), (img.Width, img.Height));
        for (int i = 0; i < 6; i++) Assert.Equal(mask[i] == 1 ? 255 : 0, img[i % 3, i / 3].PackedValue);
    }

    [Fact]
    public void OverlayColoursMaskedPixelsAndMarksPrompts()
    {
        int h = 40, w = 60;
        var px = new byte[h * w * 3];
        var mask = new byte[h * w];
        for (int y = 5; y < 20; y++) for (int x = 5; x < 30; x++) mask[y * w + x] = 1;
        var png = MaskRenderer.OverlayPng(new RgbImage(px, h, w), mask, 1, [(45f, 30f, 1), (50f, 10f, 0)], [2, 2, 35, 25]);
        using var img = Image.Load<Rgb24>(png);
        Assert.Equal((w, h), (img.Width, img.Height));
        Assert.NotEqual(new Rgb24(0, 0, 0), img[15, 12]);  // inside the mask
        Assert.Equal(new Rgb24(0, 0, 0), img[55, 38]);     // untouched background
        Assert.Equal(new Rgb24(0, 200, 0), img[45, 30]);   // foreground point
        Assert.Equal(new Rgb24(230, 0, 0), img[50, 10]);   // background point
        Assert.Equal(new Rgb24(255, 215, 0), img[20, 2]);  // box edge
    }
}
