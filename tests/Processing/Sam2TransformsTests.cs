using SamEngine.Modeling;
using SamEngine.Processing;

namespace SamEngine.Tests.Processing;

/// <summary>SAM2Transforms' antialiased resize against its plain definition, and the hole / sprinkle clean-up.</summary>
public class Sam2TransformsTests
{
    /// <summary>
    /// The plain definition, in double, one output pixel at a time: along each axis the inputs j whose
    /// centres lie within the support of the output centre, weighted by the triangle filter max(0, 1 - |d| / s)
    /// (s = max(scale, 1), d the distance of centres in input pixels), normalised.
    /// </summary>
    private static double[] AxisWeights(int inSize, int outSize, int i)
    {
        double scale = (double)inSize / outSize, s = Math.Max(scale, 1), center = scale * (i + 0.5);
        var w = new double[inSize];
        for (int j = 0; j < inSize; j++) w[j] = Math.Max(0, 1 - Math.Abs(j + 0.5 - center) / s);
        double total = w.Sum();
        return w.Select(v => v / total).ToArray();
    }

    [Theory]
    [InlineData(200, 300, 64, 64)]  // shrink, anisotropic
    [InlineData(7, 5, 16, 16)]      // enlarge
    [InlineData(333, 170, 80, 80)]
    public void AntialiasedResizeMatchesItsDefinition(int h, int w, int outH, int outW)
    {
        var rng = new Random(h * w);
        var src = Enumerable.Range(0, h * w).Select(_ => (float)rng.NextDouble()).ToArray();
        var dst = new float[outH * outW];
        AntialiasedResize.Resize(src, h, w, dst, outH, outW);
        double maxErr = 0;
        for (int y = 0; y < outH; y++)
        {
            var wy = AxisWeights(h, outH, y);
            for (int x = 0; x < outW; x++)
            {
                var wx = AxisWeights(w, outW, x);
                double v = 0;
                for (int sy = 0; sy < h; sy++)
                    if (wy[sy] != 0)
                        for (int sx = 0; sx < w; sx++) v += wy[sy] * wx[sx] * src[sy * w + sx];
                maxErr = Math.Max(maxErr, Math.Abs(v - dst[y * outW + x]));
            }
        }
        Assert.True(maxErr < 1e-5, $"max error {maxErr}");
    }

    [Fact]
    public void HolesAndSprinklesUpToTheAreaAreFlippedWith8Connectivity()
    {
        // 6 x 6: foreground everywhere but a 1-pixel hole at (1, 1) and a 2-pixel diagonal hole (3, 3)-(4, 4)
        // (one component with 8-connectivity, area 2); a lone foreground speck is made in a second plane.
        const int n = 6;
        var logits = Enumerable.Repeat(1f, 2 * n * n).ToArray();
        logits[1 * n + 1] = -1;
        logits[3 * n + 3] = -1;
        logits[4 * n + 4] = -1;
        for (int i = n * n; i < 2 * n * n; i++) logits[i] = -1;
        logits[n * n + 2 * n + 2] = 5;
        var holes1 = Sam2Transforms.RemoveHolesAndSprinkles(logits, 2, n, maxHoleArea: 1, maxSprinkleArea: 0);
        Assert.Equal(10f, holes1[1 * n + 1]);
        Assert.Equal(-1f, holes1[3 * n + 3]); // area 2 > 1: kept
        var holes2 = Sam2Transforms.RemoveHolesAndSprinkles(logits, 2, n, maxHoleArea: 2, maxSprinkleArea: 1);
        Assert.Equal(10f, holes2[4 * n + 4]);
        Assert.Equal(-10f, holes2[n * n + 2 * n + 2]);
        Assert.Equal(-1f, holes2[n * n]); // the second plane's background (35 pixels) is no hole
        Assert.Equal(-1f, logits[1 * n + 1]); // the input is left as it was
    }

    [Fact]
    public void StabilityScoreIsTheRatioOfTheTwoAreas()
    {
        Assert.Equal(1f / 3, MaskDecoder.StabilityScore([1f, 0.01f, -0.01f, -1f], 0.05f)); // 1 above 0.05 of 3 above -0.05
        Assert.Equal(1f, MaskDecoder.StabilityScore([-1f, -2f], 0.05f));
    }
}
