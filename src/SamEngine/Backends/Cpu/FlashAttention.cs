namespace SamEngine.Backends.Cpu;

/// <summary>
/// Single-head attention o = softmax(postScale · q (keyScale · k)ᵀ + relpos(q)) v without the score
/// matrix, computed transposed so that no operand is repacked inside the loops: for a panel of NR
/// queries and a block of keys, the GEMM micro-kernel writes the scores Sᵀ [keys, NR] straight into the
/// layout it reads B from; one pass scales them, adds the relative-position bias and takes the maxima,
/// one pass exponentiates (<see cref="SimdMath.Exp{T}"/>) and sums (<see cref="OnlineSoftmax"/>, both
/// vectorised across the NR queries, two vectors, so the running max and sum stay in registers); and
/// Oᵀ [d, NR] += Vᵀ · Pᵀ reuses Sᵀ in place. A key block holds a whole 14 x 14 window, so windowed
/// attention never rescales; Oᵀ is rescaled only when a query's running max moved. K and Vᵀ are packed
/// once per call as the kernel's A panels, qᵀ as its B panels, straight from where the rows lie
/// (<see cref="HeadRows"/>); the rel-pos terms q · Rᵀ of a query panel come from the same kernel over
/// the packed tables (<see cref="RelPos"/>); a dense bias (<see cref="ScoreBias"/>) is read in the layout
/// of Sᵀ, one row of NR queries per key. Each worker of the caller's loop passes its own
/// <see cref="HeadScratch"/> (from <see cref="Scratches"/>): the steady state allocates nothing.
/// Few keys without rel-pos terms or a bias (Hiera's small windows) go to <see cref="FewKeyAttention"/>.
/// </summary>
internal static class FlashAttention
{
    private const int KeyBlockPanels = 20;
    /// <summary>The scratch objects of the workers that call <see cref="Attend"/>.</summary>
    public static readonly ScratchPool<HeadScratch> Scratches = new();

    /// <summary>
    /// One head: queries <paramref name="q"/>, keys <paramref name="k"/> and values <paramref name="v"/>
    /// (rows of d; as many keys as values). Query i's output goes to <paramref name="y"/> at
    /// <c>outStarts[i] + outOffset</c>, skipped where <c>outStarts[i]</c> is negative. The ViT scales q
    /// before the product (upstream); that is folded here into k (exact for power-of-two scales, e.g.
    /// d = 64) so that the unscaled q serves the rel-pos terms too. The decoder scales the product
    /// (<paramref name="postScale"/>), and TinyViT adds <paramref name="bias"/> after that scale.
    /// <paramref name="s"/> is the calling worker's scratch.
    /// </summary>
    public static void Attend(SimdPath path, in HeadRows q, in HeadRows k, in HeadRows v, int d, float keyScale, float postScale,
        RelPos? relPos, float[] y, int[] outStarts, int outOffset, HeadScratch s, ScoreBias? bias = null)
    {
        if (k.Count != v.Count || q.Count <= 0 || k.Count <= 0) throw new ArgumentException($"attention of {q.Count} queries over {k.Count} keys and {v.Count} values");
        if (relPos is not null && (relPos.GridH * relPos.GridW != q.Count || q.Count != k.Count || relPos.HeadDim != d))
            throw new ArgumentException($"relative positions of a {relPos.GridH}x{relPos.GridW} grid for {q.Count} tokens");
        var (mr, nr) = GemmKernels.Tile(path);
        if (bias is { } b && (relPos is not null || b.Offset < 0
            || b.Offset + (long)AttentionPacking.RoundUp(q.Count, nr) * AttentionPacking.RoundUp(k.Count, mr) > b.Panels.Length))
            throw new ArgumentException($"a score bias of {b.Panels.Length} values from {b.Offset} for {q.Count} queries and {k.Count} keys{(relPos is null ? "" : " beside relative positions")}");
        switch (path)
        {
            case SimdPath.Vector512: Attend<Simd512>(path, q, k, v, d, keyScale, postScale, relPos, bias, y, outStarts, outOffset, s); break;
            case SimdPath.Vector256: Attend<Simd256>(path, q, k, v, d, keyScale, postScale, relPos, bias, y, outStarts, outOffset, s); break;
            case SimdPath.Vector128: Attend<Simd128>(path, q, k, v, d, keyScale, postScale, relPos, bias, y, outStarts, outOffset, s); break;
            default: Attend<SimdPortable>(path, q, k, v, d, keyScale, postScale, relPos, bias, y, outStarts, outOffset, s); break;
        }
    }

    private static unsafe void Attend<T>(SimdPath path, in HeadRows q, in HeadRows k, in HeadRows v, int d, float keyScale,
        float postScale, RelPos? relPos, ScoreBias? bias, float[] y, int[] outStarts, int outOffset, HeadScratch s) where T : struct, ISimdFloat<T>
    {
        if (relPos is null && bias is null && k.Count <= FewKeyAttention.MaxKeys)
        {
            FewKeyAttention.Attend<T>(path, q, k, v, d, keyScale, postScale, y, outStarts, outOffset, s);
            return;
        }
        var (mr, nr) = GemmKernels.Tile(path);
        int vr = AttentionKernels.ValueRows(path);
        if (nr != 2 * T.Count) throw new InvalidOperationException($"{path}: a query panel of {nr} is not two vectors of {T.Count}");
        int nq = q.Count, nk = k.Count;
        int nkPad = AttentionPacking.RoundUp(nk, mr), dPad = AttentionPacking.RoundUp(d, vr), bc = KeyBlockPanels * mr;
        int gh = relPos?.GridH ?? 0, gw = relPos?.GridW ?? 0;
        var packedQ = Scratch.Ensure(ref s.PackedQ, AttentionPacking.RoundUp(nq, nr) * d);
        var packedK = Scratch.Ensure(ref s.PackedK, nkPad * d);
        var packedVt = Scratch.Ensure(ref s.PackedVt, dPad * nkPad);
        var st = Scratch.Ensure(ref s.ScoresT, bc * nr);
        var ot = Scratch.Ensure(ref s.OutT, dPad * nr);
        var relHt = Scratch.Ensure(ref s.RelHt, gh * nr);
        var relWt = Scratch.Ensure(ref s.RelWt, gw * nr);
        var tableHt = Scratch.Ensure(ref s.TableHt, (relPos?.RowsH ?? 0) * nr);
        var tableWt = Scratch.Ensure(ref s.TableWt, (relPos?.RowsW ?? 0) * nr);
        AttentionPacking.PackTransposedPanels(q, d, nr, scale: 1f, packedQ);
        AttentionPacking.PackTransposedPanels(k, d, mr, keyScale, packedK);
        AttentionPacking.PackChannelPanels(v, d, vr, nkPad, packedVt);

        fixed (float* pq = packedQ, pk = packedK, pvt = packedVt, pst = st, pot = ot, prh = relHt, prw = relWt, py = y, pb = bias?.Panels)
        {
            for (int q0 = 0; q0 < nq; q0 += nr)
            {
                float* qPanel = pq + (long)q0 * d;
                float* panelBias = pb is null ? null : pb + bias!.Value.Offset + (long)q0 * nkPad; // q0 / nr panels of nkPad x nr
                if (relPos is not null) RelPosTerms(path, qPanel, q0, Math.Min(nr, nq - q0), nr, relPos, tableHt, tableWt, relHt, relWt);
                T runMax0 = default, runMax1 = default, runSum0 = default, runSum1 = default;
                for (int k0 = 0; k0 < nkPad; k0 += bc)
                {
                    int rows = Math.Min(bc, nkPad - k0), valid = Math.Min(rows, nk - k0);
                    for (int r = 0; r < rows; r += mr) // Sᵀ[keys, queries] = K_blk · qᵀ
                        GemmKernels.Run(path, d, pk + (long)(k0 + r) * d, qPanel, pst + r * nr, nr, accumulate: false);
                    OnlineSoftmax.BiasAndMax(pst, valid, k0, postScale, relPos, prh, prw,
                        panelBias is null ? null : panelBias + (long)k0 * nr, out T max0, out T max1);
                    if (k0 == 0) (runMax0, runMax1) = (max0, max1);
                    else
                    {
                        T m0 = T.Max(runMax0, max0), m1 = T.Max(runMax1, max1);
                        T alpha0 = SimdMath.Exp(runMax0 - m0), alpha1 = SimdMath.Exp(runMax1 - m1);
                        (runMax0, runMax1) = (m0, m1);
                        runSum0 *= alpha0;
                        runSum1 *= alpha1;
                        if (!T.AllEqual(alpha0, 1f) || !T.AllEqual(alpha1, 1f)) OnlineSoftmax.Rescale(pot, dPad, alpha0, alpha1);
                    }
                    OnlineSoftmax.ExpAndSum(pst, rows, valid, runMax0, runMax1, ref runSum0, ref runSum1);
                    for (int c = 0; c < dPad; c += vr) // Oᵀ[d, queries] (+)= Vᵀ_blk · Pᵀ
                        AttentionKernels.RunValues(path, rows, pvt + (long)c * nkPad + (long)k0 * vr, pst, pot + c * nr, nr, accumulate: k0 > 0);
                }
                OnlineSoftmax.Rescale(pot, d, T.Create(1f) / runSum0, T.Create(1f) / runSum1);
                WriteOutput(pot, d, nr, Math.Min(nr, nq - q0), outStarts.AsSpan(q0), py + outOffset, s);
            }
        }
    }

    /// <summary>
    /// Oᵀ [d, NR] of a query panel into the output rows of its <paramref name="count"/> queries (row j at
    /// <c>y + outStarts[j]</c>, skipped where negative): by 8 x 8 transposes into a [NR, d] block, then a
    /// row copy each, where the scalar gather cost a third of a windowed attention's time.
    /// </summary>
    private static unsafe void WriteOutput(float* ot, int d, int nr, int count, ReadOnlySpan<int> outStarts, float* y, HeadScratch s)
    {
        if (SimdTranspose.IsSupported && d % 8 == 0 && nr % 8 == 0)
        {
            var block = Scratch.Ensure(ref s.OutRows, nr * d);
            fixed (float* pb = block)
            {
                for (int c0 = 0; c0 < d; c0 += 8)
                    for (int j0 = 0; j0 < count; j0 += 8) SimdTranspose.Block8(ot + c0 * nr + j0, nr, pb + j0 * d + c0, d);
                for (int j = 0; j < count; j++)
                    if (outStarts[j] >= 0) new ReadOnlySpan<float>(pb + j * d, d).CopyTo(new Span<float>(y + outStarts[j], d));
            }
            return;
        }
        for (int j = 0; j < count; j++)
        {
            if (outStarts[j] < 0) continue;
            float* row = y + outStarts[j];
            for (int c = 0; c < d; c++) row[c] = ot[c * nr + j];
        }
    }

    /// <summary>
    /// The rel-pos terms of one query panel: tableᵀ [rows, NR] = R · qᵀ by the micro-kernel over the
    /// packed tables, then gathered per query: relHt[ky, j] = q_j · Rh[qy_j - ky + GridH - 1],
    /// relWt[kx, j] = q_j · Rw[qx_j - kx + GridW - 1] (zero for padded queries).
    /// </summary>
    private static unsafe void RelPosTerms(SimdPath path, float* qPanel, int q0, int count, int nr, RelPos rp,
        float[] tableHt, float[] tableWt, float[] relHt, float[] relWt)
    {
        int gh = rp.GridH, gw = rp.GridW, d = rp.HeadDim, mr = GemmKernels.Tile(path).Mr;
        fixed (float* ph = rp.PackedH, pw = rp.PackedW, th = tableHt, tw = tableWt)
        {
            for (int r = 0; r < rp.RowsH; r += mr) GemmKernels.Run(path, d, ph + r * d, qPanel, th + r * nr, nr, accumulate: false);
            for (int r = 0; r < rp.RowsW; r += mr) GemmKernels.Run(path, d, pw + r * d, qPanel, tw + r * nr, nr, accumulate: false);
        }
        if (count < nr)
        {
            relHt.AsSpan(0, gh * nr).Clear();
            relWt.AsSpan(0, gw * nr).Clear();
        }
        for (int j = 0; j < count; j++)
        {
            int qi = q0 + j, qy = qi / gw, qx = qi % gw;
            for (int ky = 0; ky < gh; ky++) relHt[ky * nr + j] = tableHt[(qy - ky + gh - 1) * nr + j];
            for (int kx = 0; kx < gw; kx++) relWt[kx * nr + j] = tableWt[(qx - kx + gw - 1) * nr + j];
        }
    }

    /// <summary>One worker's buffers for one head at a time: packed operands, scores, output, rel-pos terms, pooled queries, and the callers' row starts.</summary>
    internal sealed class HeadScratch
    {
        public float[]? PackedQ, PackedK, PackedVt, ScoresT, OutT, OutRows, RelHt, RelWt, TableHt, TableWt, PooledQ, QueryRows, InverseSums;
        public int[]? Starts, OutStarts, QueryStarts;
    }
}
