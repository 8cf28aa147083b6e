namespace SamEngine.Processing;

/// <summary>
/// torch's <c>F.interpolate(x, size=(h, w), mode="bicubic", align_corners=False)</c> on the host: the
/// cubic convolution with A = -0.75, source coordinate (dst + 0.5) · in/out - 0.5 (not clamped), and
/// taps beyond the border clamped to the edge, as ATen's <c>upsample_bicubic2d</c> does.
/// </summary>
public static class Bicubic
{
    private const double A = -0.75;

    /// <summary>Planes [planes, inH, inW] → [planes, outH, outW].</summary>
    public static float[] Resize(ReadOnlySpan<float> x, int planes, int inH, int inW, int outH, int outW)
    {
        if (planes < 0 || inH < 1 || inW < 1 || outH < 1 || outW < 1 || x.Length != (long)planes * inH * inW)
            throw new ArgumentException($"bicubic resize of {x.Length} values as {planes} planes {inH}x{inW} to {outH}x{outW}");
        var (rowTaps, rowWeights) = Taps(inH, outH);
        var (colTaps, colWeights) = Taps(inW, outW);
        var y = new float[(long)planes * outH * outW];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * inH * inW, inH * inW);
            for (int i = 0; i < outH; i++)
                for (int j = 0; j < outW; j++)
                {
                    double s = 0;
                    for (int a = 0; a < 4; a++)
                    {
                        double row = 0;
                        for (int b = 0; b < 4; b++) row += colWeights[j * 4 + b] * plane[rowTaps[i * 4 + a] * inW + colTaps[j * 4 + b]];
                        s += rowWeights[i * 4 + a] * row;
                    }
                    y[(p * outH + i) * outW + j] = (float)s;
                }
        }
        return y;
    }

    /// <summary>For each output index its four source indexes (clamped) and weights.</summary>
    private static (int[] Taps, double[] Weights) Taps(int input, int output)
    {
        var taps = new int[4 * output];
        var weights = new double[4 * output];
        double scale = (double)(float)((float)input / output); // ATen's scale is a float
        for (int o = 0; o < output; o++)
        {
            double real = scale * (o + 0.5) - 0.5;
            int i0 = (int)Math.Floor(real);
            double t = real - i0;
            weights[4 * o] = Far(t + 1);
            weights[4 * o + 1] = Near(t);
            weights[4 * o + 2] = Near(1 - t);
            weights[4 * o + 3] = Far(2 - t);
            for (int k = 0; k < 4; k++) taps[4 * o + k] = Math.Clamp(i0 - 1 + k, 0, input - 1);
        }
        return (taps, weights);
    }

    /// <summary>The cubic kernel for |x| ≤ 1.</summary>
    private static double Near(double x) => ((A + 2) * x - (A + 3)) * x * x + 1;

    /// <summary>The cubic kernel for 1 &lt; |x| &lt; 2.</summary>
    private static double Far(double x) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}
