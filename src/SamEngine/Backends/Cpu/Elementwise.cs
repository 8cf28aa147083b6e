using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Backends.Cpu;

/// <summary>Element-wise and row-wise ops of the CPU backend: activations, adds, LayerNorm, softmax.</summary>
public static class Elementwise
{
    /// <summary>Applies <paramref name="act"/> in place.</summary>
    public static void Activate(Span<float> x, Activation act)
    {
        switch (act)
        {
            case Activation.None: return;
            case Activation.Relu:
                int vw = Vector<float>.Count, i = 0;
                for (; i <= x.Length - vw; i += vw) Vector.Max(new Vector<float>(x[i..]), Vector<float>.Zero).CopyTo(x[i..]);
                for (; i < x.Length; i++) x[i] = Math.Max(x[i], 0f);
                return;
            case Activation.Gelu:
                GeluInPlace(x);
                return;
            default: throw new ArgumentOutOfRangeException(nameof(act));
        }
    }

    /// <summary>Elements per parallel chunk of the memory-bound ops: below this, one thread is faster.</summary>
    internal const int ParallelGrain = 1 << 15;

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, count) in contiguous chunks of at least
    /// <paramref name="grain"/> items, on all cores when there is enough work, else inline.
    /// </summary>
    internal static void ForRanges(int count, int grain, Action<int, int> body)
    {
        int chunks = Math.Min(Environment.ProcessorCount * 4, count / Math.Max(grain, 1));
        if (chunks <= 1 || Environment.ProcessorCount == 1) { body(0, count); return; }
        Parallel.For(0, chunks, i => body((int)((long)count * i / chunks), (int)((long)count * (i + 1) / chunks)));
    }

    /// <summary>y = a + b with b repeated over a's leading elements (a.Length a multiple of b.Length).</summary>
    public static void AddBroadcast(float[] a, float[] b, int bLength, float[] y, int length) =>
        ForRanges(length, ParallelGrain, (s, e) =>
        {
            for (int i = s; i < e;)
            {
                int j = i % bLength, run = Math.Min(e - i, bLength - j);
                Add(a.AsSpan(i, run), b.AsSpan(j, run), y.AsSpan(i, run));
                i += run;
            }
        });

    /// <summary>y = a + b, element by element.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int vw = Vector<float>.Count, i = 0;
        for (; i <= y.Length - vw; i += vw) (new Vector<float>(a[i..]) + new Vector<float>(b[i..])).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] = a[i] + b[i];
    }

    /// <summary>y = act(x) over <paramref name="length"/> elements, on all cores for large inputs.</summary>
    public static void Activate(float[] x, float[] y, int length, Activation act) =>
        ForRanges(length, ParallelGrain, (s, e) =>
        {
            if (!ReferenceEquals(x, y)) x.AsSpan(s, e - s).CopyTo(y.AsSpan(s, e - s));
            Activate(y.AsSpan(s, e - s), act);
        });

    /// <summary>
    /// Exact-form GELU, 0.5 x (1 + erf(x / √2)), vectorised on the active SIMD path: with AVX-512 by
    /// <see cref="GeluTable"/>'s piecewise polynomials, else erfc(|x| / √2) by Abramowitz and Stegun
    /// 7.1.26 (absolute error below 1.5e-7, well inside float32 GELU's own rounding at the magnitudes
    /// that matter) over <see cref="SimdMath.Exp{T}"/>.
    /// <see cref="MathUtil.Gelu"/> is the scalar specification.
    /// </summary>
    public static unsafe void GeluInPlace(Span<float> x)
    {
        fixed (float* p = x)
        {
            int i = Gemm.ActivePath switch
            {
                SimdPath.Vector512 => GeluVectors<Simd512>(p, x.Length),
                SimdPath.Vector256 => GeluVectors<Simd256>(p, x.Length),
                SimdPath.Vector128 => GeluVectors<Simd128>(p, x.Length),
                _ => GeluVectors<SimdPortable>(p, x.Length),
            };
            for (; i < x.Length; i++) x[i] = MathUtil.Gelu(x[i]);
        }
    }

    private const float ErfP = 0.3275911f, ErfA1 = 0.254829592f, ErfA2 = -0.284496736f, ErfA3 = 1.421413741f, ErfA4 = -1.453152027f, ErfA5 = 1.061405429f;

    /// <summary>
    /// A GEMM epilogue in one pass over a tile: rows x width floats at <paramref name="c"/>
    /// (row stride <paramref name="ldc"/>) = act(c + bias) + residual, the bias from column
    /// <paramref name="j0"/>, the residual (if any) laid out as c; the SIMD width resolved once per tile.
    /// </summary>
    internal static unsafe void BiasActivate(SimdPath path, float* c, int rows, int width, int ldc, float[]? bias, int j0, Activation act,
        float* residual = null)
    {
        switch (path)
        {
            case SimdPath.Vector512: BiasActivate<Simd512>(c, rows, width, ldc, bias, j0, act, residual); break;
            case SimdPath.Vector256: BiasActivate<Simd256>(c, rows, width, ldc, bias, j0, act, residual); break;
            case SimdPath.Vector128: BiasActivate<Simd128>(c, rows, width, ldc, bias, j0, act, residual); break;
            default: BiasActivate<SimdPortable>(c, rows, width, ldc, bias, j0, act, residual); break;
        }
    }

    /// <summary>As <see cref="BiasActivate(SimdPath, float*, int, int, int, float[], int, Activation, float*)"/> for a width already resolved.</summary>
    internal static unsafe void BiasActivate<T>(float* c, int rows, int width, int ldc, float[]? bias, int j0, Activation act, float* residual = null)
        where T : struct, ISimdFloat<T>
    {
        // One loop per activation, bias and residual, each with nothing to decide per vector: a switch
        // inside the loop made the JIT spill the vector and reload the GELU's constants on every pass.
        fixed (float* pb = bias)
        {
            float* b = pb == null ? null : pb + j0;
            switch (act)
            {
                case Activation.Gelu: Rows<T, GeluOp<T>>(c, rows, width, ldc, b, residual); break;
                case Activation.Relu: Rows<T, ReluOp<T>>(c, rows, width, ldc, b, residual); break;
                default: if (b != null || residual != null) Rows<T, IdentityOp<T>>(c, rows, width, ldc, b, residual); break;
            }
        }
    }

    private static unsafe void Rows<T, TAct>(float* c, int rows, int width, int ldc, float* b, float* residual)
        where T : struct, ISimdFloat<T> where TAct : struct, IActivationOp<T>
    {
        switch (b != null, residual != null)
        {
            case (true, true): Rows<T, TAct, Yes, Yes>(c, rows, width, ldc, b, residual); break;
            case (true, false): Rows<T, TAct, Yes, No>(c, rows, width, ldc, b, residual); break;
            case (false, true): Rows<T, TAct, No, Yes>(c, rows, width, ldc, b, residual); break;
            default: Rows<T, TAct, No, No>(c, rows, width, ldc, b, residual); break;
        }
    }

    private static unsafe void Rows<T, TAct, TBias, TResidual>(float* c, int rows, int width, int ldc, float* b, float* residual)
        where T : struct, ISimdFloat<T> where TAct : struct, IActivationOp<T> where TBias : struct, IFlag where TResidual : struct, IFlag
    {
        for (int r = 0; r < rows; r++)
        {
            float* row = c + (long)r * ldc, res = residual + (long)r * ldc;
            int i = 0;
            for (; i <= width - T.Count; i += T.Count)
            {
                var v = T.Load(row + i);
                if (TBias.On) v += T.Load(b + i);
                v = TAct.Apply(v);
                if (TResidual.On) v += T.Load(res + i);
                v.Store(row + i);
            }
            for (; i < width; i++) row[i] = TAct.Apply(row[i] + (TBias.On ? b[i] : 0f)) + (TResidual.On ? res[i] : 0f);
        }
    }

    /// <summary>A step of an epilogue that is on or off, as a type so that the JIT compiles a loop for each.</summary>
    private interface IFlag { static abstract bool On { get; } }
    private readonly struct Yes : IFlag { public static bool On => true; }
    private readonly struct No : IFlag { public static bool On => false; }

    /// <summary>An activation on a vector and on one float, as a type so that the JIT specialises each loop for it.</summary>
    internal interface IActivationOp<T> where T : struct, ISimdFloat<T>
    {
        static abstract T Apply(T x);
        static abstract float Apply(float x);
    }

    internal readonly struct GeluOp<T> : IActivationOp<T> where T : struct, ISimdFloat<T>
    {
        public static T Apply(T x) => Gelu(x);
        public static float Apply(float x) => MathUtil.Gelu(x);
    }

    internal readonly struct ReluOp<T> : IActivationOp<T> where T : struct, ISimdFloat<T>
    {
        public static T Apply(T x) => T.Max(x, T.Create(0f));
        public static float Apply(float x) => Math.Max(x, 0f);
    }

    internal readonly struct IdentityOp<T> : IActivationOp<T> where T : struct, ISimdFloat<T>
    {
        public static T Apply(T x) => x;
        public static float Apply(float x) => x;
    }

    /// <summary>GELU over the whole vectors of p[0, n); returns where the scalar tail starts.</summary>
    private static unsafe int GeluVectors<T>(float* p, int n) where T : struct, ISimdFloat<T>
    {
        int i = 0;
        for (; i <= n - T.Count; i += T.Count) Gelu(T.Load(p + i)).Store(p + i);
        return i;
    }

    /// <summary>GELU of one vector (see <see cref="GeluInPlace"/>); inlined, since a call per vector passes it through the stack.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T Gelu<T>(T x) where T : struct, ISimdFloat<T>
    {
        if (typeof(T) == typeof(Simd512) && GeluTable.IsSupported) // resolved when the JIT specialises T
        {
            var y = GeluTable.Gelu(Unsafe.As<T, Vector512<float>>(ref x));
            return Unsafe.As<Vector512<float>, T>(ref y);
        }
        var zero = T.Create(0f);
        // |x| / √2 capped at 9: beyond it erfc is below 1e-36 and its float products become subnormal,
        // which Intel cores compute by microcode assists, dozens of times slower (GELU(x) is then x or
        // a value under 1e-35 in magnitude, either way within rounding of the uncapped form).
        var z = T.Min(T.Max(x, zero - x) * T.Create(0.70710678f), T.Create(9f));
        var t = T.Reciprocal(T.Fma(z, T.Create(ErfP), T.Create(1f)));
        var poly = T.Fma(T.Fma(T.Fma(T.Fma(T.Create(ErfA5), t, T.Create(ErfA4)), t, T.Create(ErfA3)), t, T.Create(ErfA2)), t, T.Create(ErfA1)) * t;
        var q = poly * SimdMath.Exp(zero - z * z); // erfc(|x| / √2)
        // 1 + erf(x / √2) is 2 - q for x ≥ 0 and q for x < 0.
        return T.Create(0.5f) * x * (q + T.ZeroBelow(x, zero, T.Create(2f) - (q + q)));
    }

    /// <summary>The largest element (-inf for an empty span).</summary>
    public static float Max(ReadOnlySpan<float> x)
    {
        int vw = Vector<float>.Count, i = 0;
        float m = float.NegativeInfinity;
        if (x.Length >= vw)
        {
            var acc = new Vector<float>(x);
            for (i = vw; i <= x.Length - vw; i += vw) acc = Vector.Max(acc, new Vector<float>(x[i..]));
            for (int j = 0; j < vw; j++) m = Math.Max(m, acc[j]);
        }
        for (; i < x.Length; i++) m = Math.Max(m, x[i]);
        return m;
    }

    /// <summary>x = exp(x - shift) in place; returns the sum of the results.</summary>
    public static float ExpShiftedSum(Span<float> x, float shift)
    {
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var acc = Vector512<float>.Zero;
            for (; i <= x.Length - 16; i += 16)
            {
                var e = Vector512.Exp(Vector512.Create<float>(x[i..]) - Vector512.Create(shift));
                e.CopyTo(x[i..]);
                acc += e;
            }
            sum = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= x.Length - 8; i += 8)
            {
                var e = Vector256.Exp(Vector256.Create<float>(x[i..]) - Vector256.Create(shift));
                e.CopyTo(x[i..]);
                acc += e;
            }
            sum = Vector256.Sum(acc);
        }
        for (; i < x.Length; i++) { float e = MathF.Exp(x[i] - shift); x[i] = e; sum += e; }
        return sum;
    }

    /// <summary>m = max(m, x), element by element.</summary>
    public static void MaxInPlace(Span<float> m, ReadOnlySpan<float> x)
    {
        int vw = Vector<float>.Count, i = 0;
        for (; i <= m.Length - vw; i += vw) Vector.Max(new Vector<float>(m[i..]), new Vector<float>(x[i..])).CopyTo(m[i..]);
        for (; i < m.Length; i++) m[i] = Math.Max(m[i], x[i]);
    }

    /// <summary>x = exp(x - shift) and sum += x, element by element (x = -inf gives 0).</summary>
    public static unsafe void ExpShiftedAccumulate(Span<float> x, ReadOnlySpan<float> shift, Span<float> sum)
    {
        fixed (float* px = x, ps = shift, pa = sum)
        {
            int i = Gemm.ActivePath switch
            {
                SimdPath.Vector512 => ExpShiftedAccumulate<Simd512>(px, ps, pa, x.Length),
                SimdPath.Vector256 => ExpShiftedAccumulate<Simd256>(px, ps, pa, x.Length),
                SimdPath.Vector128 => ExpShiftedAccumulate<Simd128>(px, ps, pa, x.Length),
                _ => ExpShiftedAccumulate<SimdPortable>(px, ps, pa, x.Length),
            };
            for (; i < x.Length; i++) { float e = MathF.Exp(x[i] - shift[i]); x[i] = e; sum[i] += e; }
        }
    }

    private static unsafe int ExpShiftedAccumulate<T>(float* x, float* shift, float* sum, int n) where T : struct, ISimdFloat<T>
    {
        int i = 0;
        for (; i <= n - T.Count; i += T.Count)
        {
            var e = SimdMath.Exp(T.Load(x + i) - T.Load(shift + i));
            e.Store(x + i);
            (T.Load(sum + i) + e).Store(sum + i);
        }
        return i;
    }

    /// <summary>y += s · x, element by element.</summary>
    public static void MultiplyAdd(Span<float> y, ReadOnlySpan<float> x, float s)
    {
        int vw = Vector<float>.Count, i = 0;
        var vs = new Vector<float>(s);
        for (; i <= y.Length - vw; i += vw) Vector.FusedMultiplyAdd(vs, new Vector<float>(x[i..]), new Vector<float>(y[i..])).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] += s * x[i];
    }

    /// <summary>The dot product of two spans of equal length.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int vw = Vector<float>.Count, i = 0;
        var acc = Vector<float>.Zero;
        for (; i <= a.Length - vw; i += vw) acc = Vector.FusedMultiplyAdd(new Vector<float>(a[i..]), new Vector<float>(b[i..]), acc);
        float sum = Vector.Sum(acc);
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>y += b, element by element.</summary>
    public static void AddInPlace(Span<float> y, ReadOnlySpan<float> b)
    {
        int vw = Vector<float>.Count, i = 0;
        for (; i <= y.Length - vw; i += vw) (new Vector<float>(y[i..]) + new Vector<float>(b[i..])).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] += b[i];
    }

    /// <summary>
    /// LayerNorm of <paramref name="rows"/> rows of <paramref name="c"/> channels (biased variance),
    /// vectorised on the active SIMD path: two passes over the row for the statistics (mean, then the centred sum of
    /// squares, both accumulated in fp32 lanes), one for the affine output. With a
    /// <paramref name="residual"/> (<paramref name="residualLength"/> values, repeated over x) the row
    /// x + residual is formed in y first and normalised there, while it is in L1.
    /// </summary>
    public static void LayerNorm(float[] x, float[] y, int rows, int c, float[] gamma, float[] beta, float eps,
        float[]? residual = null, int residualLength = 0)
    {
        var path = Gemm.ActivePath;
        ForRanges(rows, Math.Max(1, ParallelGrain / Math.Max(c, 1)), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                var xr = x.AsSpan(r * c, c);
                var yr = y.AsSpan(r * c, c);
                if (residual is not null)
                {
                    Add(xr, residual.AsSpan(r * c % residualLength, c), yr);
                    xr = yr;
                }
                switch (path)
                {
                    case SimdPath.Vector512: LayerNormRow<Simd512>(xr, yr, gamma, beta, eps); break;
                    case SimdPath.Vector256: LayerNormRow<Simd256>(xr, yr, gamma, beta, eps); break;
                    case SimdPath.Vector128: LayerNormRow<Simd128>(xr, yr, gamma, beta, eps); break;
                    default: LayerNormRow<SimdPortable>(xr, yr, gamma, beta, eps); break;
                }
            }
        });
    }

    /// <summary>
    /// One row of <see cref="LayerNorm"/> (x and y may be the same row): the mean, then the variance about
    /// it (two passes, as upstream's float32 computes them), each summed in four vectors so that the
    /// additions do not wait on one another.
    /// </summary>
    private static unsafe void LayerNormRow<T>(ReadOnlySpan<float> xr, Span<float> yr, float[] gamma, float[] beta, float eps)
        where T : struct, ISimdFloat<T>
    {
        int c = xr.Length, w = T.Count, i;
        fixed (float* px = xr, py = yr, pg = gamma, pb = beta)
        {
            T a0 = T.Create(0f), a1 = a0, a2 = a0, a3 = a0;
            for (i = 0; i <= c - 4 * w; i += 4 * w)
            {
                a0 += T.Load(px + i);
                a1 += T.Load(px + i + w);
                a2 += T.Load(px + i + 2 * w);
                a3 += T.Load(px + i + 3 * w);
            }
            for (; i <= c - w; i += w) a0 += T.Load(px + i);
            float sum = T.Sum(a0 + a1 + (a2 + a3));
            for (; i < c; i++) sum += px[i];
            float mean = sum / c;
            T vm = T.Create(mean);
            a0 = a1 = a2 = a3 = T.Create(0f);
            for (i = 0; i <= c - 4 * w; i += 4 * w)
            {
                T d0 = T.Load(px + i) - vm, d1 = T.Load(px + i + w) - vm, d2 = T.Load(px + i + 2 * w) - vm, d3 = T.Load(px + i + 3 * w) - vm;
                a0 = T.Fma(d0, d0, a0);
                a1 = T.Fma(d1, d1, a1);
                a2 = T.Fma(d2, d2, a2);
                a3 = T.Fma(d3, d3, a3);
            }
            for (; i <= c - w; i += w) { T d0 = T.Load(px + i) - vm; a0 = T.Fma(d0, d0, a0); }
            float sq = T.Sum(a0 + a1 + (a2 + a3));
            for (; i < c; i++) { float dv = px[i] - mean; sq += dv * dv; }
            float rstd = 1f / MathF.Sqrt(sq / c + eps);
            T vr = T.Create(rstd);
            for (i = 0; i <= c - w; i += w)
                T.Fma((T.Load(px + i) - vm) * vr, T.Load(pg + i), T.Load(pb + i)).Store(py + i);
            for (; i < c; i++) py[i] = (px[i] - mean) * rstd * gamma[i] + beta[i];
        }
    }
}
