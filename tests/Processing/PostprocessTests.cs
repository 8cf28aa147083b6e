using System.Text.Json;
using SamEngine.Processing;
using Xunit.Abstractions;

namespace SamEngine.Tests.Processing;

public class PostprocessTests(ITestOutputHelper output)
{
    public static TheoryData<string, int, string> Cases()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var config in new[] { "tiny", "odd" })
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureReader.Dir(config), "cases.json")));
            int imgSize = doc.RootElement.GetProperty("architecture").GetProperty("img_size").GetInt32();
            foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
                data.Add(config, imgSize, c.GetProperty("name").GetString()!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesOfficialMasks(string config, int imgSize, string name)
    {
        var r = FixtureReader.Open(config);
        var img = r.Shape("image");
        int origH = img[0], origW = img[1];
        var (inputH, inputW) = ResizeLongestSide.TargetSize(origH, origW, imgSize);
        var lowShape = r.Shape($"{name}.low_res_logits"); // (..., S/4, S/4)
        int lowRes = lowShape[^1];
        int planes = lowShape[..^2].Aggregate(1, (a, b) => a * b);

        var logits = Postprocess.PostprocessMasks(r.Floats($"{name}.low_res_logits"), planes, lowRes, imgSize,
            inputH, inputW, origH, origW);
        // batched_boxes ships no mask_logits; its masks are still compared.
        double err = r.Contains($"{name}.mask_logits") ? ProcessingAssert.RelL2(logits, r.Floats($"{name}.mask_logits")) : 0;

        var masks = Postprocess.Threshold(logits);
        var expected = r.Bytes($"{name}.masks");
        Assert.Equal(expected.Length, masks.Length);
        int differing = 0;
        for (int i = 0; i < masks.Length; i++) if (masks[i] != expected[i]) differing++;

        output.WriteLine($"{config}.{name}: mask_logits rel L2 {err:E2}, masks differing {differing} / {masks.Length}");
        Assert.True(err <= 1e-3, $"{config}.{name}.mask_logits rel L2 {err:E2}");
        for (int i = 0, shown = 0; i < masks.Length && shown < 5; i++)
            if (masks[i] != expected[i]) { output.WriteLine($"  [{i}] expected {expected[i]}, logit {logits[i]:R}"); shown++; }
        Assert.True(differing <= masks.Length / 1000, $"{config}.{name}.masks: {differing} of {masks.Length} pixels differ");
    }

    [Fact]
    public void CroppedUpsampleEqualsFullUpsampleThenCrop()
    {
        const int low = 16, size = 64, inH = 43, inW = 64, oH = 50, oW = 75;
        var rng = new Random(4);
        var lowRes = Enumerable.Range(0, 2 * low * low).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var fast = Postprocess.PostprocessMasks(lowRes, 2, low, size, inH, inW, oH, oW);
        for (int p = 0; p < 2; p++)
        {
            var full = new float[size * size];
            Postprocess.ResizeBilinear(lowRes.AsSpan(p * low * low, low * low), low, low, full, size, size);
            var crop = new float[inH * inW];
            for (int y = 0; y < inH; y++) full.AsSpan(y * size, inW).CopyTo(crop.AsSpan(y * inW));
            var slow = new float[oH * oW];
            Postprocess.ResizeBilinear(crop, inH, inW, slow, oH, oW);
            Assert.Equal(slow, fast.AsSpan(p * oH * oW, oH * oW).ToArray());
        }
    }

    [Theory]
    [InlineData(4, 4, 9, 13)]
    [InlineData(9, 13, 4, 4)]
    [InlineData(5, 7, 5, 7)]
    [InlineData(1, 6, 3, 2)]
    public void ResizeBilinearMatchesDirectFormula(int h, int w, int outH, int outW)
    {
        var rng = new Random(5);
        var src = Enumerable.Range(0, h * w).Select(_ => (float)rng.NextDouble()).ToArray();
        var dst = new float[outH * outW];
        Postprocess.ResizeBilinear(src, h, w, dst, outH, outW);
        for (int y = 0; y < outH; y++)
            for (int x = 0; x < outW; x++)
            {
                var (y0, y1, ly) = Source(y, h, outH);
                var (x0, x1, lx) = Source(x, w, outW);
                // torch: interpolate along x in rows y0 and y1, then along y.
                float t0 = src[y0 * w + x0] * (1f - lx) + src[y0 * w + x1] * lx;
                float t1 = src[y1 * w + x0] * (1f - lx) + src[y1 * w + x1] * lx;
                Assert.Equal(t0 * (1f - ly) + t1 * ly, dst[y * outW + x]);
            }
    }

    [Theory]
    [InlineData(3, 16, 64, 48, 64, 97, 130)] // cropped, then resized to a larger original
    [InlineData(2, 16, 64, 64, 40, 64, 40)]  // the resize is the identity: the crop is the result
    [InlineData(1, 8, 32, 5, 32, 3, 77)]     // very thin crop
    public void FusedMasksEqualThresholdedLogits(int planes, int low, int img, int inputH, int inputW, int origH, int origW)
    {
        var rng = new Random(planes + origW);
        var lowRes = Enumerable.Range(0, planes * low * low).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var logits = Postprocess.PostprocessMasks(lowRes, planes, low, img, inputH, inputW, origH, origW);
        var masks = new byte[logits.Length];
        var logitsToo = new float[logits.Length];
        Postprocess.PostprocessMasks(lowRes, planes, low, img, inputH, inputW, origH, origW, logitsToo, masks);
        Assert.Equal(Postprocess.Threshold(logits), masks);
        Assert.Equal(logits, logitsToo);
        var masksOnly = new byte[logits.Length];
        Postprocess.PostprocessMasks(lowRes, planes, low, img, inputH, inputW, origH, origW, default, masksOnly);
        Assert.Equal(masks, masksOnly);
        Assert.Contains((byte)1, masks);
        Assert.Contains((byte)0, masks);
    }

    [Theory]
    [InlineData(3, 40000, 40000, "3 x 40000 x 40000 = 4800000000 values are more than one array holds")] // wrapped to 505 M in int
    [InlineData(1, 65536, 32768, "1 x 65536 x 32768 = 2147483648 values")]                              // wrapped to int.MinValue
    [InlineData(1, -5, 30, "negative dimension")]
    [InlineData(-1, 5, 30, "negative dimension")]
    public void OutputSizesThatCannotBeHeldAreRefused(int planes, int origH, int origW, string expected)
    {
        var lowRes = new float[Math.Max(planes, 0) * 16 * 16];
        var e = Assert.Throws<ArgumentException>(() => Postprocess.PostprocessMasks(lowRes, planes, 16, 64, 48, 64, origH, origW));
        Assert.Contains(expected, e.Message);
        e = Assert.Throws<ArgumentException>(() => Postprocess.PostprocessMasks(lowRes, planes, 16, 64, 48, 64, origH, origW, default, new byte[1000]));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData(0, 48)]
    [InlineData(65, 48)]
    [InlineData(48, -1)]
    public void InputSizeOutsideImgSizeIsRefused(int inputH, int inputW)
    {
        var e = Assert.Throws<ArgumentException>(() => Postprocess.PostprocessMasks(new float[16 * 16], 1, 16, 64, inputH, inputW, 20, 30));
        Assert.Contains($"input size {inputH} x {inputW}", e.Message);
    }

    [Fact]
    public void ThresholdIsStrictlyAboveZero()
    {
        Assert.Equal(new byte[] { 0, 0, 1, 0 }, Postprocess.Threshold([-1f, 0f, 1e-30f, -0f]));
    }

    [Fact]
    public void VectorisedThresholdMatchesScalarRule()
    {
        var rng = new Random(9);
        var logits = Enumerable.Range(0, 1000).Select(i => i % 7 == 0 ? 0f : i % 11 == 0 ? float.NaN : (float)(rng.NextDouble() - 0.5)).ToArray();
        Assert.Equal(logits.Select(v => v > 0f ? (byte)1 : (byte)0).ToArray(), Postprocess.Threshold(logits));
    }

    static (int I0, int I1, float L1) Source(int dst, int inSize, int outSize)
    {
        float scale = (float)inSize / outSize;
        float s = Math.Max((float)(scale * (dst + 0.5) - 0.5), 0f);
        int i0 = (int)Math.Floor(s);
        return (i0, Math.Min(i0 + 1, inSize - 1), s - i0);
    }
}
