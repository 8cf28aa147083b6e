using System.Numerics;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// A depthwise k x k convolution in NHWC (padding k/2) with its norm folded into the taps: every tap
/// is a vector multiply-add over the channels, which are contiguous in both the input and the output.
/// </summary>
internal static class DepthwiseConv
{
    /// <summary>
    /// y[b, oy, ox, c] = act(shift[c] + Σ taps[ky·k + kx, c] · x[b, oy·s - k/2 + ky, ox·s - k/2 + kx, c]),
    /// taps outside the image skipped (zero padding); output rows in parallel.
    /// </summary>
    public static void Run(float[] x, int b, int h, int w, int c, float[] taps, float[] shift, int k, int stride, Activation act,
        float[] y, int ho, int wo)
    {
        int pad = k / 2;
        CpuParallel.For(0, b * ho, row =>
        {
            int bi = row / ho, oy = row % ho;
            var outRow = y.AsSpan(row * wo * c, wo * c);
            for (int ox = 0; ox < wo; ox++)
            {
                var o = outRow.Slice(ox * c, c);
                shift.CopyTo(o);
                for (int ky = 0; ky < k; ky++)
                {
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int kx = 0; kx < k; kx++)
                    {
                        int ix = ox * stride - pad + kx;
                        if (ix < 0 || ix >= w) continue;
                        MultiplyAccumulate(o, x.AsSpan(((bi * h + iy) * w + ix) * c, c), taps.AsSpan((ky * k + kx) * c, c));
                    }
                }
            }
            if (act != Activation.None) Elementwise.Activate(outRow, act);
        });
    }

    /// <summary>y += a ⊙ b, element by element.</summary>
    private static void MultiplyAccumulate(Span<float> y, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int vw = Vector<float>.Count, i = 0;
        for (; i <= y.Length - vw; i += vw)
            Vector.FusedMultiplyAdd(new Vector<float>(a[i..]), new Vector<float>(b[i..]), new Vector<float>(y[i..])).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] += a[i] * b[i];
    }
}
