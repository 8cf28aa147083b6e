namespace SamEngine.Backends.Cpu;

/// <summary>
/// A depthwise k x k convolution in NHWC (padding k/2) with its norm folded into the taps: the channels
/// are contiguous in both the input and the output, so each output vector accumulates its k² taps in a
/// register, on the widest vectors of <see cref="Gemm.ActivePath"/>, and gets its activation there
/// before its one store (MobileSAM's first stage runs it on 256 x 256 x 256 and then GELU).
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
        var geometry = new Geometry(b, h, w, c, k, stride, ho, wo);
        switch (Gemm.ActivePath)
        {
            case SimdPath.Vector512: Run<Simd512>(x, taps, shift, act, y, geometry); break;
            case SimdPath.Vector256: Run<Simd256>(x, taps, shift, act, y, geometry); break;
            case SimdPath.Vector128: Run<Simd128>(x, taps, shift, act, y, geometry); break;
            default: Run<SimdPortable>(x, taps, shift, act, y, geometry); break;
        }
    }

    private readonly record struct Geometry(int B, int H, int W, int C, int K, int Stride, int Ho, int Wo);

    private static unsafe void Run<T>(float[] x, float[] taps, float[] shift, Activation act, float[] y, Geometry g) where T : struct, ISimdFloat<T>
    {
        var (b, h, w, c, k, stride, ho, wo) = g;
        int pad = k / 2, vectorEnd = c - c % T.Count;
        CpuParallel.For(0, b * ho, row =>
        {
            int bi = row / ho, oy = row % ho;
            int* xOff = stackalloc int[k * k], wOff = stackalloc int[k * k];
            var zero = T.Create(0f);
            fixed (float* px = x, pt = taps, ps = shift, py = y)
            {
                float* outRow = py + (long)row * wo * c;
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
                    float* o = outRow + ox * c;
                    for (int c0 = 0; c0 < vectorEnd; c0 += T.Count)
                    {
                        var acc = T.Load(ps + c0);
                        for (int t = 0; t < n; t++) acc = T.Fma(T.Load(px + xOff[t] + c0), T.Load(pt + wOff[t] + c0), acc);
                        acc = act switch { Activation.Gelu => Elementwise.Gelu(acc), Activation.Relu => T.Max(acc, zero), _ => acc };
                        acc.Store(o + c0);
                    }
                    for (int ch = vectorEnd; ch < c; ch++)
                    {
                        float acc = ps[ch];
                        for (int t = 0; t < n; t++) acc += px[xOff[t] + ch] * pt[wOff[t] + ch];
                        o[ch] = act switch { Activation.Gelu => MathUtil.Gelu(acc), Activation.Relu => Math.Max(acc, 0f), _ => acc };
                    }
                }
            }
        });
    }
}
