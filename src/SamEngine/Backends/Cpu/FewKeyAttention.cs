namespace SamEngine.Backends.Cpu;

/// <summary>
/// One head's attention over at most <see cref="MaxKeys"/> keys (Hiera's 4 x 4 and 8 x 8 windows), where
/// <see cref="FlashAttention"/>'s transposed tiles cost more in packing and padding than in arithmetic:
/// a 16-token window fills half of a 32-query panel, and its q, K and V are each transposed into panels
/// for 74 kFLOP of work. Here the scores of every query are one small matrix, query-major:
/// S [queries, keys] = q · Kᵀ by the GEMM micro-kernel with q's rows copied once (A read in place) and
/// K transposed into B panels; each row soft-maxed in place (vectors along the keys); O = P · V with V's
/// rows copied as B panels; and each output row scaled by its 1 / Σ on the way to y. No transposes of
/// q, V or the output, and no online rescaling, since all keys are in one block.
/// </summary>
internal static class FewKeyAttention
{
    /// <summary>Keys at or below which <see cref="FlashAttention.Attend"/> comes here (without rel-pos terms or a dense bias).</summary>
    public const int MaxKeys = 64;

    /// <summary>As <see cref="FlashAttention.Attend"/>, for at most <see cref="MaxKeys"/> keys and no rel-pos terms or bias.</summary>
    public static unsafe void Attend<T>(SimdPath path, in HeadRows q, in HeadRows k, in HeadRows v, int d, float keyScale, float postScale,
        float[] y, int[] outStarts, int outOffset, FlashAttention.HeadScratch s) where T : struct, ISimdFloat<T>
    {
        var (mr, nr) = GemmKernels.Tile(path);
        int nq = q.Count, nk = k.Count;
        if (nk > MaxKeys) throw new ArgumentException($"{nk} keys: more than the {MaxKeys} this attention holds in one block");
        int qPad = AttentionPacking.RoundUp(nq, mr), kPad = AttentionPacking.RoundUp(nk, nr), dPad = AttentionPacking.RoundUp(d, nr);
        var queries = Scratch.Ensure(ref s.QueryRows, qPad * d);
        var packedK = Scratch.Ensure(ref s.PackedK, kPad * d);
        var packedV = Scratch.Ensure(ref s.PackedVt, dPad * nk);
        var scores = Scratch.Ensure(ref s.ScoresT, qPad * kPad);
        var output = Scratch.Ensure(ref s.OutT, qPad * dPad);
        var inverseSums = Scratch.Ensure(ref s.InverseSums, nq);
        for (int i = 0; i < nq; i++) q.Row(i, d).CopyTo(queries.AsSpan(i * d, d));
        queries.AsSpan(nq * d, (qPad - nq) * d).Clear(); // the last tile's extra rows: zero scores, never read back
        AttentionPacking.PackTransposedPanels(k, d, nr, keyScale, packedK);
        AttentionPacking.PackChannelPanels(v, d, nr, nk, packedV);

        fixed (float* pq = queries, pk = packedK, pv = packedV, ps = scores, po = output, py = y)
        {
            for (int i0 = 0; i0 < qPad; i0 += mr)
                for (int j0 = 0; j0 < kPad; j0 += nr)
                    GemmKernels.Run(path, d, pq + i0 * d, d, 1, pk + j0 * d, ps + i0 * kPad + j0, kPad, accumulate: false);
            for (int i = 0; i < nq; i++) inverseSums[i] = SoftmaxRow<T>(ps + i * kPad, nk, kPad, postScale);
            for (int i0 = 0; i0 < qPad; i0 += mr)
                for (int c0 = 0; c0 < dPad; c0 += nr)
                    GemmKernels.Run(path, nk, ps + i0 * kPad, kPad, 1, pv + c0 * nk, po + i0 * dPad + c0, dPad, accumulate: false);
            for (int i = 0; i < nq; i++)
                if (outStarts[i] >= 0) ScaleRow<T>(po + i * dPad, d, inverseSums[i], py + outStarts[i] + outOffset);
        }
    }

    /// <summary>
    /// A score row of <paramref name="width"/> (keys past <paramref name="valid"/> are padding) → exp(s·scale − max),
    /// padding → 0; returns 1 / Σ.
    /// </summary>
    private static unsafe float SoftmaxRow<T>(float* row, int valid, int width, float scale) where T : struct, ISimdFloat<T>
    {
        int w = T.Count;
        for (int j = valid; j < width; j++) row[j] = float.NegativeInfinity; // exp flushes -inf to 0
        T vs = T.Create(scale), max = T.Create(float.NegativeInfinity);
        for (int j = 0; j < width; j += w)
        {
            T x = T.Load(row + j) * vs;
            x.Store(row + j);
            max = T.Max(max, x);
        }
        float* lanes = stackalloc float[w];
        max.Store(lanes);
        float m = float.NegativeInfinity;
        for (int l = 0; l < w; l++) m = MathF.Max(m, lanes[l]);
        T vm = T.Create(m), sum = T.Create(0f);
        for (int j = 0; j < width; j += w)
        {
            T e = SimdMath.Exp(T.Load(row + j) - vm);
            e.Store(row + j);
            sum += e;
        }
        return 1f / T.Sum(sum);
    }

    /// <summary>dst[0, d) = src[0, d) · a.</summary>
    private static unsafe void ScaleRow<T>(float* src, int d, float a, float* dst) where T : struct, ISimdFloat<T>
    {
        int w = T.Count, c = 0;
        T va = T.Create(a);
        for (; c <= d - w; c += w) (T.Load(src + c) * va).Store(dst + c);
        for (; c < d; c++) dst[c] = src[c] * a;
    }
}
