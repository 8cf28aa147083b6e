using System.Runtime.CompilerServices;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// y = act(x · Wt + b) for a few rows x [M, K] (the decoder's prompt tokens) and a weight kept
/// transposed in fp32, Wt [K, N]: a register tile of 4 rows x 4 vectors of columns reads each weight
/// row once per column strip and broadcasts x, so there are no horizontal sums and no packing. A strip
/// of Wt (K x 4 vectors) stays in L1/L2 while every row block passes over it. Written once over
/// <see cref="ISimdFloat{TSelf}"/>, run at the widest vector the CPU has.
/// </summary>
internal static class SmallRowLinear
{
    private const int TileRows = 4, TileVectors = 4;

    public static void Multiply(float[] x, int m, float[] wt, int n, int k, float[]? bias, Activation act, float[] y)
    {
        switch (Gemm.ActivePath)
        {
            case SimdPath.Vector512: Multiply<Simd512>(x, m, wt, n, k, bias, act, y); break;
            case SimdPath.Vector256: Multiply<Simd256>(x, m, wt, n, k, bias, act, y); break;
            case SimdPath.Vector128: Multiply<Simd128>(x, m, wt, n, k, bias, act, y); break;
            default: Multiply<SimdPortable>(x, m, wt, n, k, bias, act, y); break;
        }
    }

    private static void Multiply<T>(float[] x, int m, float[] wt, int n, int k, float[]? bias, Activation act, float[] y) where T : struct, ISimdFloat<T>
    {
        int strip = TileVectors * T.Count;
        if ((long)m * n * k < 1 << 20 || n < 2 * strip) Columns<T>(x, m, wt, n, k, bias, act, y, 0, n);
        else
        {
            // Column ranges in whole strips, a few per core.
            int strips = (n + strip - 1) / strip;
            Elementwise.ForRanges(strips, 1, (s0, s1) => Columns<T>(x, m, wt, n, k, bias, act, y, s0 * strip, Math.Min(n, s1 * strip)));
        }
    }

    private static unsafe void Columns<T>(float[] x, int m, float[] wt, int n, int k, float[]? bias, Activation act, float[] y, int j0, int j1)
        where T : struct, ISimdFloat<T>
    {
        int vw = T.Count;
        fixed (float* px = x, pw = wt, py = y)
        {
            int j = j0;
            for (; j + TileVectors * vw <= j1; j += TileVectors * vw)
                for (int i = 0; i < m; i += TileRows) Tile4x4<T>(px, m, i, pw, n, k, py, j);
            for (; j + vw <= j1; j += vw)
                for (int i = 0; i < m; i += TileRows) Tile4x1<T>(px, m, i, pw, n, k, py, j);
            for (; j < j1; j++)
                for (int i = 0; i < m; i++)
                {
                    float s = 0;
                    for (int kk = 0; kk < k; kk++) s += px[i * k + kk] * pw[kk * n + j];
                    py[i * n + j] = s;
                }
            Elementwise.BiasActivate<T>(py + j0, m, j1 - j0, n, bias, j0, act);
        }
    }

    /// <summary>Rows [i, i + 4) (clamped to m: missing rows repeat the last and are not stored) x 4 vectors at column j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile4x4<T>(float* x, int m, int i, float* wt, int n, int k, float* y, int j) where T : struct, ISimdFloat<T>
    {
        int vw = T.Count;
        float* x0 = x + i * k, x1 = x + Math.Min(i + 1, m - 1) * k, x2 = x + Math.Min(i + 2, m - 1) * k, x3 = x + Math.Min(i + 3, m - 1) * k;
        T c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        T c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        float* w = wt + j;
        for (int kk = 0; kk < k; kk++, w += n)
        {
            var w0 = T.Load(w);
            var w1 = T.Load(w + vw);
            var w2 = T.Load(w + 2 * vw);
            var w3 = T.Load(w + 3 * vw);
            var a = T.Create(x0[kk]);
            c00 = T.Fma(a, w0, c00); c01 = T.Fma(a, w1, c01);
            c02 = T.Fma(a, w2, c02); c03 = T.Fma(a, w3, c03);
            a = T.Create(x1[kk]);
            c10 = T.Fma(a, w0, c10); c11 = T.Fma(a, w1, c11);
            c12 = T.Fma(a, w2, c12); c13 = T.Fma(a, w3, c13);
            a = T.Create(x2[kk]);
            c20 = T.Fma(a, w0, c20); c21 = T.Fma(a, w1, c21);
            c22 = T.Fma(a, w2, c22); c23 = T.Fma(a, w3, c23);
            a = T.Create(x3[kk]);
            c30 = T.Fma(a, w0, c30); c31 = T.Fma(a, w1, c31);
            c32 = T.Fma(a, w2, c32); c33 = T.Fma(a, w3, c33);
        }
        Store4(y + i * n + j, vw, c00, c01, c02, c03);
        if (i + 1 < m) Store4(y + (i + 1) * n + j, vw, c10, c11, c12, c13);
        if (i + 2 < m) Store4(y + (i + 2) * n + j, vw, c20, c21, c22, c23);
        if (i + 3 < m) Store4(y + (i + 3) * n + j, vw, c30, c31, c32, c33);
    }

    /// <summary>As <see cref="Tile4x4"/> with one vector of columns.</summary>
    private static unsafe void Tile4x1<T>(float* x, int m, int i, float* wt, int n, int k, float* y, int j) where T : struct, ISimdFloat<T>
    {
        float* x0 = x + i * k, x1 = x + Math.Min(i + 1, m - 1) * k, x2 = x + Math.Min(i + 2, m - 1) * k, x3 = x + Math.Min(i + 3, m - 1) * k;
        T c0 = default, c1 = default, c2 = default, c3 = default;
        float* w = wt + j;
        for (int kk = 0; kk < k; kk++, w += n)
        {
            var w0 = T.Load(w);
            c0 = T.Fma(T.Create(x0[kk]), w0, c0);
            c1 = T.Fma(T.Create(x1[kk]), w0, c1);
            c2 = T.Fma(T.Create(x2[kk]), w0, c2);
            c3 = T.Fma(T.Create(x3[kk]), w0, c3);
        }
        c0.Store(y + i * n + j);
        if (i + 1 < m) c1.Store(y + (i + 1) * n + j);
        if (i + 2 < m) c2.Store(y + (i + 2) * n + j);
        if (i + 3 < m) c3.Store(y + (i + 3) * n + j);
    }

    private static unsafe void Store4<T>(float* y, int vw, T a, T b, T c, T d) where T : struct, ISimdFloat<T>
    {
        a.Store(y);
        b.Store(y + vw);
        c.Store(y + 2 * vw);
        d.Store(y + 3 * vw);
    }
}
