namespace SamEngine.Backends.Cpu;

/// <summary>Decomposed relative-position tables [2G - 1, d] for a GridH x GridW grid attending to itself.</summary>
internal sealed record RelPos(float[] TableH, float[] TableW, int GridH, int GridW, int HeadDim);

/// <summary>
/// Single-head attention o = softmax(postScale · qProd kᵀ + relpos(qRaw)) v without the score matrix,
/// computed transposed so that no operand is repacked inside the loops: for a panel of NR queries and
/// a block of keys, the micro-kernel writes the scores Sᵀ [keys, NR] straight into the layout it reads
/// B from; the relative-position bias is added on the fly, the softmax runs down the key axis with a
/// running max and sum per query (vectorised across the NR queries), and Oᵀ [d, NR] += Vᵀ · Pᵀ
/// reuses Sᵀ in place. K and Vᵀ are packed once per call as the kernel's A panels, qᵀ as its B panels.
/// Scratch is rented per call from a shared pool and reused: the steady state allocates nothing.
/// </summary>
internal static class FlashAttention
{
    private const int KeyBlockPanels = 10;
    private static readonly ScratchPool<Scratch> Scratches = new();

    /// <summary>
    /// q* [nq, d], k and v [nk, d] → o [nq, d] (all dense, offset 0). <paramref name="qProd"/> is the
    /// query as it enters the product (the ViT scales it first); <paramref name="qRaw"/> the unscaled
    /// query the relative-position bias uses, as upstream does.
    /// </summary>
    public static void Attend(SimdPath path, float[] qProd, float[] qRaw, float[] k, float[] v, int nq, int nk, int d,
        float postScale, RelPos? relPos, float[] o)
    {
        // Scratch is rented per call, not kept per thread: there are as many calls at once as
        // workers (CpuParallel), but the thread pool may hold many more threads.
        var s = Scratches.Rent();
        try { Attend(path, qProd, qRaw, k, v, nq, nk, d, postScale, relPos, o, s); }
        finally { Scratches.Return(s); }
    }

    private static unsafe void Attend(SimdPath path, float[] qProd, float[] qRaw, float[] k, float[] v, int nq, int nk, int d,
        float postScale, RelPos? relPos, float[] o, Scratch s)
    {
        var (mr, nr) = GemmKernels.Tile(path);
        int nkPad = RoundUp(nk, mr), dPad = RoundUp(d, mr), bc = KeyBlockPanels * mr;
        int gh = relPos?.GridH ?? 0, gw = relPos?.GridW ?? 0;
        var packedQ = Scratch.Ensure(ref s.PackedQ, RoundUp(nq, nr) * d);
        var packedK = Scratch.Ensure(ref s.PackedK, nkPad * d);
        var packedVt = Scratch.Ensure(ref s.PackedVt, dPad * nkPad);
        var st = Scratch.Ensure(ref s.ScoresT, bc * nr);
        var ot = Scratch.Ensure(ref s.OutT, dPad * nr);
        var relHt = Scratch.Ensure(ref s.RelHt, gh * nr);
        var relWt = Scratch.Ensure(ref s.RelWt, gw * nr);
        var stats = Scratch.Ensure(ref s.Stats, 4 * nr);
        if (relPos is not null) RelPosTables(path, qRaw, nq, d, nr, relPos, s);
        GemmRhs.PackAllTransposed(qProd, 0, nq, d, nr, packedQ);
        PackRowPanels(k, nk, d, mr, packedK);
        PackTransposedRowPanels(v, nk, d, mr, packedVt);
        var runMax = stats.AsSpan(0, nr);
        var runSum = stats.AsSpan(nr, nr);
        var blockMax = stats.AsSpan(2 * nr, nr);
        var alpha = stats.AsSpan(3 * nr, nr);

        fixed (float* pq = packedQ, pk = packedK, pvt = packedVt, pst = st, pot = ot)
        {
            for (int q0 = 0; q0 < nq; q0 += nr)
            {
                if (relPos is not null) RelPosTerms(q0, Math.Min(nr, nq - q0), nr, relPos, s.TableH!, s.TableW!, relHt, relWt);
                runMax.Fill(float.NegativeInfinity);
                runSum.Clear();
                ot.AsSpan(0, dPad * nr).Clear();
                for (int k0 = 0; k0 < nkPad; k0 += bc)
                {
                    int rows = Math.Min(bc, nkPad - k0);
                    for (int r = 0; r < rows; r += mr) // Sᵀ[keys, queries] = K_blk · qᵀ
                        GemmKernels.Run(path, d, pk + (long)(k0 + r) * d, pq + (long)q0 * d, pst + r * nr, nr, accumulate: false);
                    BiasAndMax(st, rows, nr, k0, nk, postScale, relPos, relHt, relWt, blockMax);
                    for (int j = 0; j < nr; j++)
                    {
                        float mNew = Math.Max(runMax[j], blockMax[j]);
                        alpha[j] = MathF.Exp(runMax[j] - mNew); // 0 on the first block (max was -inf)
                        runMax[j] = mNew;
                        runSum[j] *= alpha[j];
                    }
                    for (int c = 0; c < dPad; c++) Elementwise.MultiplyInPlace(ot.AsSpan(c * nr, nr), alpha);
                    ExpAndSum(st, rows, nr, runMax, runSum);
                    for (int c = 0; c < dPad; c += mr) // Oᵀ[d, queries] += Vᵀ_blk · Pᵀ
                        GemmKernels.Run(path, rows, pvt + (long)c * nkPad + (long)k0 * mr, pst, pot + c * nr, nr, accumulate: true);
                }
                for (int j = 0; j < nr && q0 + j < nq; j++)
                {
                    float inv = 1f / runSum[j];
                    for (int c = 0; c < d; c++) o[(q0 + j) * d + c] = ot[c * nr + j] * inv;
                }
            }
        }
    }

    /// <summary>Scales the score rows, adds the rel-pos bias, masks padded keys, and takes the column maxima.</summary>
    private static void BiasAndMax(float[] st, int rows, int nr, int k0, int nk, float postScale, RelPos? rp,
        float[] relHt, float[] relWt, Span<float> colMax)
    {
        colMax.Fill(float.NegativeInfinity);
        for (int r = 0; r < rows; r++)
        {
            var row = st.AsSpan(r * nr, nr);
            int key = k0 + r;
            if (key >= nk) { row.Fill(float.NegativeInfinity); continue; }
            if (postScale != 1f) Elementwise.Scale(row, postScale);
            if (rp is not null)
            {
                int ky = key / rp.GridW, kx = key % rp.GridW;
                Elementwise.AddInPlace(row, relHt.AsSpan(ky * nr, nr), relWt.AsSpan(kx * nr, nr));
            }
            Elementwise.MaxInPlace(colMax, row);
        }
    }

    private static void ExpAndSum(float[] st, int rows, int nr, ReadOnlySpan<float> shift, Span<float> sum)
    {
        for (int r = 0; r < rows; r++) Elementwise.ExpShiftedAccumulate(st.AsSpan(r * nr, nr), shift, sum);
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
        public float[]? PackedQ, PackedK, PackedVt, ScoresT, OutT, RelHt, RelWt, Stats, PackedRel, TableH, TableW;

        public static float[] Ensure(ref float[]? buffer, int length) =>
            buffer is { } b && b.Length >= length ? b : buffer = new float[Math.Max(length, 1)];
    }
}
