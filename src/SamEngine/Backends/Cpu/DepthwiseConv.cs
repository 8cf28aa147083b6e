namespace SamEngine.Backends.Cpu;

/// <summary>
/// A depthwise k x k convolution in NHWC (padding k/2) with its norm folded into the taps: the channels
/// are contiguous in both the input and the output, so each output vector accumulates its k² taps in a
/// register, on the widest vectors of the SIMD path, and gets its activation there before its one store.
/// One output row at a time (<see cref="Row"/>) reads k input rows through pointers, so the same kernel
/// serves a whole image (<see cref="Run"/>) and rows streamed through a ring (<see cref="StreamedBottleneck"/>).
/// </summary>
internal static class DepthwiseConv
{
    /// <summary>
    /// y[b, oy, ox, c] = act(shift[c] + Σ taps[ky·k + kx, c] · x[b, oy·s - k/2 + ky, ox·s - k/2 + kx, c]),
    /// taps outside the image skipped (zero padding); output rows in parallel.
    /// </summary>
    public static unsafe void Run(float[] x, int b, int h, int w, int c, float[] taps, float[] shift, int k, int stride, Activation act,
        float[] y, int ho, int wo)
    {
        var path = Gemm.ActivePath;
        int pad = k / 2;
        CpuParallel.For(0, b * ho, row =>
        {
            int bi = row / ho, oy = row % ho;
            float** rows = stackalloc float*[k];
            fixed (float* px = x, pt = taps, ps = shift, py = y)
            {
                for (int ky = 0; ky < k; ky++)
                {
                    int iy = oy * stride - pad + ky;
                    rows[ky] = iy >= 0 && iy < h ? px + (long)(bi * h + iy) * w * c : null;
                }
                Row(path, rows, w, c, pt, ps, k, stride, act, py + (long)row * wo * c, wo);
            }
        });
    }

    /// <summary>
    /// One output row of <paramref name="wo"/> pixels: input row ky of the window at <c>rows[ky]</c> ([w, c];
    /// null above or below the image), taps [k·k, c] and shift [c] as in <see cref="Run"/>.
    /// </summary>
    public static unsafe void Row(SimdPath path, float** rows, int w, int c, float* taps, float* shift, int k, int stride, Activation act,
        float* o, int wo)
    {
        switch (path)
        {
            case SimdPath.Vector512: Row<Simd512>(rows, w, c, taps, shift, k, stride, act, o, wo); break;
            case SimdPath.Vector256: Row<Simd256>(rows, w, c, taps, shift, k, stride, act, o, wo); break;
            case SimdPath.Vector128: Row<Simd128>(rows, w, c, taps, shift, k, stride, act, o, wo); break;
            default: Row<SimdPortable>(rows, w, c, taps, shift, k, stride, act, o, wo); break;
        }
    }

    // The activation as a type: decided per row, not per vector (a switch in the loop spilled the GELU's vectors).
    private static unsafe void Row<T>(float** rows, int w, int c, float* taps, float* shift, int k, int stride, Activation act,
        float* o, int wo) where T : struct, ISimdFloat<T>
    {
        switch (act)
        {
            case Activation.Gelu: Row<T, Elementwise.GeluOp<T>>(rows, w, c, taps, shift, k, stride, o, wo); break;
            case Activation.Relu: Row<T, Elementwise.ReluOp<T>>(rows, w, c, taps, shift, k, stride, o, wo); break;
            default: Row<T, Elementwise.IdentityOp<T>>(rows, w, c, taps, shift, k, stride, o, wo); break;
        }
    }

    private static unsafe void Row<T, TAct>(float** rows, int w, int c, float* taps, float* shift, int k, int stride, float* o, int wo)
        where T : struct, ISimdFloat<T> where TAct : struct, Elementwise.IActivationOp<T>
    {
        int pad = k / 2, vectorEnd = c - c % T.Count;
        // Interior pixels (every horizontal tap inside the row) of a 3 x 3 conv: their whole vectors by the
        // register-blocked kernel, only their channel tail here; the border pixels here in full.
        int first = (pad + stride - 1) / stride, end = Math.Min(wo, (w - k + pad) / stride + 1);
        bool blocked = k == 3 && end > first && vectorEnd > 0 && rows[1] != null;
        if (blocked) Interior3x3<T, TAct>(rows, c, taps, shift, stride, vectorEnd, o, first, end);
        Pixels<T, TAct>(rows, w, c, taps, shift, k, stride, o, 0, blocked ? first : wo, 0);
        if (blocked)
        {
            Pixels<T, TAct>(rows, w, c, taps, shift, k, stride, o, first, end, vectorEnd);
            Pixels<T, TAct>(rows, w, c, taps, shift, k, stride, o, end, wo, 0);
        }
    }

    /// <summary>
    /// Output pixels [first, end) of a 3 x 3 conv whose taps are all inside the row, channels [0, vectorEnd):
    /// per channel vector the nine taps and the shift stay in registers while the pixels are swept, so each
    /// output takes nine loads and nine FMAs (the per-pixel loop loaded a pointer, a tap and an input per
    /// FMA). A row above or below the image (null) reads the centre row with zero taps: x · 0 adds nothing.
    /// </summary>
    private static unsafe void Interior3x3<T, TAct>(float** rows, int c, float* taps, float* shift, int stride, int vectorEnd,
        float* o, int first, int end) where T : struct, ISimdFloat<T> where TAct : struct, Elementwise.IActivationOp<T>
    {
        float* r1 = rows[1], r0 = rows[0] != null ? rows[0] : r1, r2 = rows[2] != null ? rows[2] : r1;
        T zero = T.Create(0f);
        long step = (long)stride * c;
        for (int c0 = 0; c0 < vectorEnd; c0 += T.Count)
        {
            T Tap(int t, bool inside) => inside ? T.Load(taps + t * c + c0) : zero;
            T t00 = Tap(0, rows[0] != null), t01 = Tap(1, rows[0] != null), t02 = Tap(2, rows[0] != null);
            T t10 = Tap(3, true), t11 = Tap(4, true), t12 = Tap(5, true);
            T t20 = Tap(6, rows[2] != null), t21 = Tap(7, rows[2] != null), t22 = Tap(8, rows[2] != null);
            T bias = T.Load(shift + c0);
            long ix = (long)(first * stride - 1) * c + c0; // the leftmost tap of pixel `first`
            float* y = o + (long)first * c + c0;
            for (int ox = first; ox < end; ox++, ix += step, y += c)
            {
                var acc = T.Fma(T.Load(r0 + ix), t00, bias);
                acc = T.Fma(T.Load(r0 + ix + c), t01, acc);
                acc = T.Fma(T.Load(r0 + ix + 2 * c), t02, acc);
                acc = T.Fma(T.Load(r1 + ix), t10, acc);
                acc = T.Fma(T.Load(r1 + ix + c), t11, acc);
                acc = T.Fma(T.Load(r1 + ix + 2 * c), t12, acc);
                acc = T.Fma(T.Load(r2 + ix), t20, acc);
                acc = T.Fma(T.Load(r2 + ix + c), t21, acc);
                acc = T.Fma(T.Load(r2 + ix + 2 * c), t22, acc);
                TAct.Apply(acc).Store(y);
            }
        }
    }

    /// <summary>Output pixels [from, to), channels from <paramref name="channelFrom"/> (0, or the vector end for the tail only), tap by tap.</summary>
    private static unsafe void Pixels<T, TAct>(float** rows, int w, int c, float* taps, float* shift, int k, int stride, float* o,
        int from, int to, int channelFrom) where T : struct, ISimdFloat<T> where TAct : struct, Elementwise.IActivationOp<T>
    {
        int pad = k / 2, vectorEnd = c - c % T.Count;
        float** xs = stackalloc float*[k * k], ts = stackalloc float*[k * k];
        o += (long)from * c;
        for (int ox = from; ox < to; ox++, o += c)
        {
            // The taps inside the image: their input pixel and their weights.
            int n = 0;
            for (int ky = 0; ky < k; ky++)
            {
                if (rows[ky] == null) continue;
                for (int kx = 0; kx < k; kx++)
                {
                    int ix = ox * stride - pad + kx;
                    if (ix < 0 || ix >= w) continue;
                    xs[n] = rows[ky] + (long)ix * c;
                    ts[n++] = taps + (ky * k + kx) * c;
                }
            }
            for (int c0 = channelFrom; c0 < vectorEnd; c0 += T.Count)
            {
                var acc = T.Load(shift + c0);
                for (int t = 0; t < n; t++) acc = T.Fma(T.Load(xs[t] + c0), T.Load(ts[t] + c0), acc);
                TAct.Apply(acc).Store(o + c0);
            }
            for (int ch = Math.Max(channelFrom, vectorEnd); ch < c; ch++)
            {
                float acc = shift[ch];
                for (int t = 0; t < n; t++) acc += xs[t][ch] * ts[t][ch];
                o[ch] = TAct.Apply(acc);
            }
        }
    }
}
