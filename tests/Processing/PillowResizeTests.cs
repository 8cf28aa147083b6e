using SamEngine.Processing;

namespace SamEngine.Tests.Processing;

public class PillowResizeTests
{
    [Theory]
    [InlineData("tiny")]
    [InlineData("odd")]
    public void MatchesPillowBitExact(string config)
    {
        var r = FixtureReader.Open(config);
        var shape = r.Shape("image");
        var outShape = r.Shape("input_resized");
        var actual = PillowResize.Resize(r.Bytes("image"), shape[0], shape[1], outShape[0], outShape[1]);
        ProcessingAssert.BytesEqual($"{config}.input_resized", r.Bytes("input_resized"), actual);
    }

    [Fact]
    public void UpscaleKeepsConstantImageConstant()
    {
        const int h = 10, w = 7;
        var img = new byte[h * w * 3];
        for (int i = 0; i < img.Length; i += 3) { img[i] = 200; img[i + 1] = 17; img[i + 2] = 255; }
        var (oh, ow) = ResizeLongestSide.TargetSize(h, w, 64);
        var output = PillowResize.Resize(img, h, w, oh, ow);
        Assert.Equal(oh * ow * 3, output.Length);
        for (int i = 0; i < output.Length; i += 3)
            Assert.True(output[i] == 200 && output[i + 1] == 17 && output[i + 2] == 255, $"pixel {i / 3} changed");
    }

    [Fact]
    public void UpscaleStaysWithinInputRange()
    {
        const int h = 5, w = 9;
        var img = new byte[h * w * 3];
        var rng = new Random(1);
        rng.NextBytes(img);
        byte min = img.Min(), max = img.Max();
        var output = PillowResize.Resize(img, h, w, 36, 64);
        // A triangle filter has no negative lobes, so the output stays in the input's range.
        Assert.All(output, v => Assert.InRange(v, min, max));
    }

    [Fact]
    public void OneDimensionOnlyAndIdentity()
    {
        var img = new byte[4 * 6 * 3];
        new Random(2).NextBytes(img);
        Assert.Equal(img, PillowResize.Resize(img, 4, 6, 4, 6));
        Assert.Equal(4 * 3 * 3, PillowResize.Resize(img, 4, 6, 4, 3).Length);
        Assert.Equal(2 * 6 * 3, PillowResize.Resize(img, 4, 6, 2, 6).Length);
    }
}
