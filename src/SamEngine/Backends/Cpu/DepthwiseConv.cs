using System.Numerics;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// A depthwise k x k convolution in NHWC (padding k/2) with its norm folded into the taps: the channels
/// are contiguous in both the input and the output, so each output vector accumulates its k² taps in a
/// register.
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
            int vw = Vector<float>.Count, vectorEnd = c - c % vw;
            Span<int> xOff = stackalloc int[k * k], wOff = stackalloc int[k * k];
            for (int ox = 0; ox < wo; ox++)
            {
                // The taps inside the image, as offsets of their input pixel and of their weights.
                int n = 0;
                for (int ky = 0; ky < k; ky++)
                {
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int kx = 0; kx < k; kx++)
                    {
                        int ix = ox * stride - pad + kx;
                        if (ix < 0 || ix >= w) continue;
                        (xOff[n], wOff[n]) = (((bi * h + iy) * w + ix) * c, (ky * k + kx) * c);
                        n++;
                    }
                }
                var o = outRow.Slice(ox * c, c);
                // Each output vector stays in a register across the taps: one store per vector.
                for (int c0 = 0; c0 < vectorEnd; c0 += vw)
                {
                    var acc = new Vector<float>(shift, c0);
                    for (int t = 0; t < n; t++)
                        acc = Vector.FusedMultiplyAdd(new Vector<float>(x, xOff[t] + c0), new Vector<float>(taps, wOff[t] + c0), acc);
                    acc.CopyTo(o[c0..]);
                }
                for (int ch = vectorEnd; ch < c; ch++)
                {
                    float acc = shift[ch];
                    for (int t = 0; t < n; t++) acc += x[xOff[t] + ch] * taps[wOff[t] + ch];
                    o[ch] = acc;
                }
            }
            if (act != Activation.None) Elementwise.Activate(outRow, act);
        });
    }
}
