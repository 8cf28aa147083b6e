using SamEngine.Processing;

namespace SamEngine.Tests.Processing;

public class ResizeLongestSideTests
{
    [Theory]
    [InlineData(200, 300, 256, 171, 256)] // tiny
    [InlineData(333, 170, 320, 320, 163)] // odd
    [InlineData(480, 640, 1024, 768, 1024)] // vit_b
    [InlineData(384, 512, 1024, 768, 1024)] // vit_h
    [InlineData(1, 1000, 1024, 1, 1024)]
    public void TargetSizeMatchesOfficial(int h, int w, int longSide, int expH, int expW)
    {
        Assert.Equal((expH, expW), ResizeLongestSide.TargetSize(h, w, longSide));
    }

    [Theory]
    [InlineData("tiny", 256)]
    [InlineData("odd", 320)]
    public void TargetSizeMatchesFixtureResize(string config, int imgSize)
    {
        var r = FixtureReader.Open(config);
        var img = r.Shape("image");
        var resized = r.Shape("input_resized");
        Assert.Equal((resized[0], resized[1]), ResizeLongestSide.TargetSize(img[0], img[1], imgSize));
    }

    [Fact]
    public void ApplyCoordsScalesInDoubleThenRounds()
    {
        // tiny: 200x300 -> 171x256.
        float[] xy = [299f, 199f, 0f, 0f, 150.5f, 10.25f];
        var result = ResizeLongestSide.ApplyCoords(xy, origH: 200, origW: 300, longSide: 256);
        for (int i = 0; i < xy.Length; i += 2)
        {
            Assert.Equal((float)(xy[i] * (256.0 / 300.0)), result[i]);
            Assert.Equal((float)(xy[i + 1] * (171.0 / 200.0)), result[i + 1]);
        }
    }
}
