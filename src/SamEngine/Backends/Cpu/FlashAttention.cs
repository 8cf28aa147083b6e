namespace SamEngine.Backends.Cpu;

/// <summary>Decomposed relative-position tables [2G - 1, d] for a GridH x GridW grid attending to itself.</summary>
internal sealed record RelPos(float[] TableH, float[] TableW, int GridH, int GridW, int HeadDim);

/// <summary>
/// Single-head attention o = softmax(postScale · qProd kᵀ + relpos(qRaw)) v without the score matrix,
/// computed transposed so that no operand is repacked inside the loops: for a panel of NR queries and
/// a block of keys, the GEMM micro-kernel writes the scores Sᵀ [keys, NR] straight into the layout it
/// reads B from; one pass scales them, adds the relative-position bias and takes the maxima, one pass
/// exponentiates (<see cref="SimdMath.Exp{T}"/>) and sums, both vectorised across the NR queries (two
/// vectors, so the running max and sum stay in registers); and Oᵀ [d, NR] += Vᵀ · Pᵀ reuses Sᵀ in
/// place. A key block holds a whole 14 x 14 window, so windowed attention never rescales; Oᵀ is
/// rescaled only when a query's running max moved. K and Vᵀ are packed once per call as the kernel's
/// A panels, qᵀ as its B panels. Scratch lives per thread and is reused: the steady state allocates nothing.
/// </summary>
internal static class FlashAttention
{
    private const int KeyBlockPanels = 20;
    [ThreadStatic] private static Scratch? _scratch;

    /// <summary>
    /// q* [nq, d], k and v [nk, d] → o [nq, d] (all dense, offset 0). <paramref name="qProd"/> is the
    /// query as it enters the product (the ViT scales it first); <paramref name="qRaw"/> the unscaled
    /// query the relative-position bias uses, as upstream does.
    /// </summary>
    public static void Attend(SimdPath path, float[] qProd, float[] qRaw, float[] k, float[] v, int nq, int nk, int d,
        float postScale, RelPos? relPos, float[] o)
    {
        switch (path)
        {
            case SimdPath.Vector512: Attend<Simd512>(path, qProd, qRaw, k, v, nq, nk, d, postScale, relPos, o); break;
            case SimdPath.Vector256: Attend<Simd256>(path, qProd, qRaw, k, v, nq, nk, d, postScale, relPos, o); break;
            default: Attend<SimdPortable>(path, qProd, qRaw, k, v, nq, nk, d, postScale, relPos, o); break;
        }
    }

    private static unsafe void Attend<T>(SimdPath path, float[] qProd, float[] qRaw, float[] k, float[] v, int nq, int nk, int d,
        float postScale, RelPos? relPos, float[] o) where T : struct, ISimdFloat<T>
    {
        var (mr, nr) = GemmKernels.Tile(path);
        if (nr != 2 * T.Count) throw new InvalidOperationException($"{path}: a query panel of {nr} is not two vectors of {T.Count}");
        int nkPad = RoundUp(nk, mr), dPad = RoundUp(d, mr), bc = KeyBlockPanels * mr;
        int gh = relPos?.GridH ?? 0, gw = relPos?.GridW ?? 0;
        var s = _scratch ??= new Scratch();
        var packedQ = Scratch.Ensure(ref s.PackedQ, RoundUp(nq, nr) * d);
        var packedK = Scratch.Ensure(ref s.PackedK, nkPad * d);
        var packedVt = Scratch.Ensure(ref s.PackedVt, dPad * nkPad);
        var st = Scratch.Ensure(ref s.ScoresT, bc * nr);
        var ot = Scratch.Ensure(ref s.OutT, dPad * nr);
        var relHt = Scratch.Ensure(ref s.RelHt, gh * nr);
        var relWt = Scratch.Ensure(ref s.RelWt, gw * nr);
        if (relPos is not null) RelPosTables(path, qRaw, nq, d, nr, relPos, s);
        GemmRhs.PackAllTransposed(qProd, 0, nq, d, nr, packedQ);
        PackRowPanels(k, nk, d, mr, packedK);
        PackTransposedRowPanels(v, nk, d, mr, packedVt);

        fixed (float* pq = packedQ, pk = packedK, pvt = packedVt, pst = st, pot = ot, prh = relHt, prw = relWt)
        {
            for (int q0 = 0; q0 < nq; q0 += nr)
            {
                if (relPos is not null) RelPosTerms(q0, Math.Min(nr, nq - q0), nr, relPos, s.TableH!, s.TableW!, relHt, relWt);
                T runMax0 = default, runMax1 = default, runSum0 = default, runSum1 = default;
                for (int k0 = 0; k0 < nkPad; k0 += bc)
                {
                    int rows = Math.Min(bc, nkPad - k0), valid = Math.Min(rows, nk - k0);
                    for (int r = 0; r < rows; r += mr) // Sᵀ[keys, queries] = K_blk · qᵀ
                        GemmKernels.Run(path, d, pk + (long)(k0 + r) * d, pq + (long)q0 * d, pst + r * nr, nr, accumulate: false);
                    BiasAndMax(pst, valid, k0, postScale, relPos, prh, prw, out T max0, out T max1);
                    if (k0 == 0) (runMax0, runMax1) = (max0, max1);
                    else
                    {
                        T m0 = T.Max(runMax0, max0), m1 = T.Max(runMax1, max1);
                        T alpha0 = SimdMath.Exp(runMax0 - m0), alpha1 = SimdMath.Exp(runMax1 - m1);
                        (runMax0, runMax1) = (m0, m1);
                        runSum0 *= alpha0;
                        runSum1 *= alpha1;
                        if (!T.AllEqual(alpha0, 1f) || !T.AllEqual(alpha1, 1f)) Rescale(pot, dPad, alpha0, alpha1);
                    }
                    ExpAndSum(pst, rows, valid, runMax0, runMax1, ref runSum0, ref runSum1);
                    for (int c = 0; c < dPad; c += mr) // Oᵀ[d, queries] (+)= Vᵀ_blk · Pᵀ
                        GemmKernels.Run(path, rows, pvt + (long)c * nkPad + (long)k0 * mr, pst, pot + c * nr, nr, accumulate: k0 > 0);
                }
                Rescale(pot, d, T.Create(1f) / runSum0, T.Create(1f) / runSum1);
                for (int j = 0; j < nr && q0 + j < nq; j++)
                    for (int c = 0; c < d; c++) o[(q0 + j) * d + c] = pot[c * nr + j];
            }
        }
    }

    /// <summary>
    /// Scales the first <paramref name="valid"/> score rows (keys) of the block, adds the rel-pos bias
    /// relHt[ky] + relWt[kx] of each key, and returns the per-query maxima.
    /// </summary>
    private static unsafe void BiasAndMax<T>(float* st, int valid, int k0, float postScale, RelPos? rp,
        float* relHt, float* relWt, out T max0, out T max1) where T : struct, ISimdFloat<T>
    {
        int w = T.Count, nr = 2 * w;
        T m0 = T.Create(float.NegativeInfinity), m1 = m0, scale = T.Create(postScale);
        if (rp is null)
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
    private static unsafe void ExpAndSum<T>(float* st, int rows, int valid, T max0, T max1, ref T sum0, ref T sum1)
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
    private static unsafe void Rescale<T>(float* ot, int rows, T a0, T a1) where T : struct, ISimdFloat<T>
    {
        int w = T.Count, nr = 2 * w;
        for (int c = 0; c < rows; c++)
        {
            float* row = ot + c * nr;
            (T.Load(row) * a0).Store(row);
            (T.Load(row + w) * a1).Store(row + w);
        }
    }

    /// <summary>Every query against every table row, by the GEMM: tableH [nq, 2 GridH - 1] = q Rhᵀ, tableW likewise.</summary>
    private static void RelPosTables(SimdPath path, float[] q, int nq, int d, int nr, RelPos rp, Scratch s)
    {
        int th = 2 * rp.GridH - 1, tw = 2 * rp.GridW - 1;
        var packed = Scratch.Ensure(ref s.PackedRel, RoundUp(Math.Max(th, tw), nr) * d);
        var tableH = Scratch.Ensure(ref s.TableH, nq * th);
        var tableW = Scratch.Ensure(ref s.TableW, nq * tw);
        GemmRhs.PackAllTransposed(rp.TableH, 0, th, d, nr, packed);
        Gemm.MultiplyPacked(path, nq, th, d, q, 0, d, packed, 0, d * nr, tableH, 0, th, accumulate: false);
        GemmRhs.PackAllTransposed(rp.TableW, 0, tw, d, nr, packed);
        Gemm.MultiplyPacked(path, nq, tw, d, q, 0, d, packed, 0, d * nr, tableW, 0, tw, accumulate: false);
    }

    // relHt[ky, j] = q_j · Rh[qy_j - ky + GridH - 1], relWt[kx, j] = q_j · Rw[qx_j - kx + GridW - 1], gathered from the tables
    private static void RelPosTerms(int q0, int count, int nr, RelPos rp, float[] tableH, float[] tableW, float[] relHt, float[] relWt)
    {
        int gh = rp.GridH, gw = rp.GridW, th = 2 * gh - 1, tw = 2 * gw - 1;
        relHt.AsSpan(0, gh * nr).Clear();
        relWt.AsSpan(0, gw * nr).Clear();
        for (int j = 0; j < count; j++)
        {
            int qi = q0 + j, qy = qi / gw, qx = qi % gw;
            for (int ky = 0; ky < gh; ky++) relHt[ky * nr + j] = tableH[qi * th + qy - ky + gh - 1];
            for (int kx = 0; kx < gw; kx++) relWt[kx * nr + j] = tableW[qi * tw + qx - kx + gw - 1];
        }
    }

    /// <summary>x [n, d] → panels of <paramref name="mr"/> rows, each [d][mr] (the micro-kernel's A layout), zero rows past n.</summary>
    private static void PackRowPanels(float[] x, int n, int d, int mr, float[] dst)
    {
        for (int r0 = 0; r0 < n; r0 += mr)
            for (int r = 0; r < mr; r++)
            {
                int row = r0 + r, baseIdx = r0 * d + r;
                if (row >= n) { for (int c = 0; c < d; c++) dst[baseIdx + c * mr] = 0; continue; }
                for (int c = 0; c < d; c++) dst[baseIdx + c * mr] = x[row * d + c];
            }
    }

    /// <summary>xᵀ for x [n, d] → panels of <paramref name="mr"/> channels, each [nPad][mr], zero past d and n.</summary>
    private static void PackTransposedRowPanels(float[] x, int n, int d, int mr, float[] dst)
    {
        int nPad = RoundUp(n, mr);
        for (int c0 = 0; c0 < d; c0 += mr)
        {
            int w = Math.Min(mr, d - c0);
            var panel = dst.AsSpan(c0 * nPad, nPad * mr);
            for (int key = 0; key < nPad; key++)
            {
                var seg = panel.Slice(key * mr, mr);
                if (key < n) x.AsSpan(key * d + c0, w).CopyTo(seg);
                else seg[..w].Clear();
                seg[w..].Clear();
            }
        }
    }

    private static int RoundUp(int x, int to) => (x + to - 1) / to * to;

    private sealed class Scratch
    {
        public float[]? PackedQ, PackedK, PackedVt, ScoresT, OutT, RelHt, RelWt, PackedRel, TableH, TableW;

        public static float[] Ensure(ref float[]? buffer, int length) =>
            buffer is { } b && b.Length >= length ? b : buffer = new float[Math.Max(length, 1)];
    }
}
