using SamEngine.Processing;

namespace SamEngine.Tests.Processing;

public class PreprocessTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [InlineData("tiny", 256)]
    [InlineData("odd", 320)]
    public void MatchesOfficialInputTensor(string config, int imgSize)
    {
        var r = FixtureReader.Open(config);
        var rs = r.Shape("input_resized");
        var expected = r.Floats("input_tensor");
        var actual = Preprocess.ToInputTensor(r.Bytes("input_resized"), rs[0], rs[1], imgSize);
        double err = ProcessingAssert.RelL2(actual, expected);
        int differing = expected.Where((v, i) => v != actual[i]).Count();
        output.WriteLine($"{config}.input_tensor: rel L2 {err:E2}, {differing} of {expected.Length} values differ");
        Assert.True(err <= 1e-6, $"{config}.input_tensor rel L2 {err:E2}, {differing} values differ");
    }

    [Theory]
    [InlineData("tiny", 256)]
    [InlineData("odd", 320)]
    public void EndToEndFromImage(string config, int imgSize)
    {
        var r = FixtureReader.Open(config);
        var shape = r.Shape("image");
        var (h, w) = ResizeLongestSide.TargetSize(shape[0], shape[1], imgSize);
        var resized = PillowResize.Resize(r.Bytes("image"), shape[0], shape[1], h, w);
        var actual = Preprocess.ToInputTensor(resized, h, w, imgSize);
        Assert.True(ProcessingAssert.RelL2(actual, r.Floats("input_tensor")) <= 1e-6);
    }

    [Fact]
    public void NhwcHoldsSameValuesAsNchw()
    {
        const int h = 5, w = 3, s = 8;
        var img = new byte[h * w * 3];
        new Random(3).NextBytes(img);
        var nchw = Preprocess.ToInputTensor(img, h, w, s);
        var nhwc = Preprocess.ToInputTensorNhwc(img, h, w, s);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++)
                    Assert.Equal(nchw[(c * s + y) * s + x], nhwc[(y * s + x) * 3 + c]);
        Assert.Equal(0f, nhwc[((s - 1) * s + s - 1) * 3]); // padding
    }
}
