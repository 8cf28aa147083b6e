namespace SamEngine.Backends.Cpu;

/// <summary>
/// The online-softmax passes of <see cref="FlashAttention"/> over a block of transposed scores
/// Sᵀ [keys, NR] (NR = two vectors of queries), written once for every vector width.
/// </summary>
internal static class OnlineSoftmax
{
    /// <summary>
    /// Scales the first <paramref name="valid"/> score rows (keys) of the block, adds the rel-pos bias
    /// relHt[ky] + relWt[kx] of each key or the rows of a dense bias <paramref name="dense"/> laid out as
    /// the block, and returns the per-query maxima.
    /// </summary>
    public static unsafe void BiasAndMax<T>(float* st, int valid, int k0, float postScale, RelPos? rp,
        float* relHt, float* relWt, float* dense, out T max0, out T max1) where T : struct, ISimdFloat<T>
    {
        int w = T.Count, nr = 2 * w;
        T m0 = T.Create(float.NegativeInfinity), m1 = m0, scale = T.Create(postScale);
        if (dense is not null)
        {
            for (int r = 0; r < valid; r++)
            {
                float* row = st + r * nr, b = dense + r * nr;
                T s0 = T.Fma(T.Load(row), scale, T.Load(b)), s1 = T.Fma(T.Load(row + w), scale, T.Load(b + w));
                s0.Store(row);
                s1.Store(row + w);
                (m0, m1) = (T.Max(m0, s0), T.Max(m1, s1));
            }
        }
        else if (rp is null)
        {
            for (int r = 0; r < valid; r++)
            {
                float* row = st + r * nr;
                T s0 = T.Load(row) * scale, s1 = T.Load(row + w) * scale;
                s0.Store(row);
                s1.Store(row + w);
                (m0, m1) = (T.Max(m0, s0), T.Max(m1, s1));
            }
        }
        else
        {
            int gw = rp.GridW, ky = k0 / gw, kx = k0 % gw;
            for (int r = 0; r < valid; r++)
            {
                float* row = st + r * nr, bh = relHt + ky * nr, bw = relWt + kx * nr;
                T s0 = T.Fma(T.Load(row), scale, T.Load(bh) + T.Load(bw));
                T s1 = T.Fma(T.Load(row + w), scale, T.Load(bh + w) + T.Load(bw + w));
                s0.Store(row);
                s1.Store(row + w);
                (m0, m1) = (T.Max(m0, s0), T.Max(m1, s1));
                if (++kx == gw) { kx = 0; ky++; }
            }
        }
        (max0, max1) = (m0, m1);
    }

    /// <summary>Score rows → exp(s - max), summed per query; padded keys past <paramref name="valid"/> → 0.</summary>
    public static unsafe void ExpAndSum<T>(float* st, int rows, int valid, T max0, T max1, ref T sum0, ref T sum1)
        where T : struct, ISimdFloat<T>
    {
        int w = T.Count, nr = 2 * w;
        T acc0 = sum0, acc1 = sum1;
        for (int r = 0; r < valid; r++)
        {
            float* row = st + r * nr;
            T e0 = SimdMath.Exp(T.Load(row) - max0), e1 = SimdMath.Exp(T.Load(row + w) - max1);
            e0.Store(row);
            e1.Store(row + w);
            (acc0, acc1) = (acc0 + e0, acc1 + e1);
        }
        for (int r = valid; r < rows; r++) new Span<float>(st + r * nr, nr).Clear();
        (sum0, sum1) = (acc0, acc1);
    }

    /// <summary>Oᵀ rows [0, rows) *= (a0, a1) per query.</summary>
    public static unsafe void Rescale<T>(float* ot, int rows, T a0, T a1) where T : struct, ISimdFloat<T>
    {
        int w = T.Count, nr = 2 * w;
        for (int c = 0; c < rows; c++)
        {
            float* row = ot + c * nr;
            (T.Load(row) * a0).Store(row);
            (T.Load(row + w) * a1).Store(row + w);
        }
    }
}
