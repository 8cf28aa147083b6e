using System.Runtime.Intrinsics;
using SamEngine.Weights;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// The decoder's cross attention between a few prompt tokens (T) and every image position (N = 4096),
/// with the projections of the image side folded into the tokens. Per head h, the image→token scores
/// (X W_qhᵀ + b_qh) k_hᵀ are X (W_qhᵀ k_hᵀ) + b_qh·k_hᵀ: one GEMM of X against a [Din, T·H] matrix
/// instead of projecting all N positions to C channels; the values times the output projection,
/// v_h W_out,hᵀ, are a [T·H, D] matrix, so the output is one more GEMM. Token→image is the same
/// algebra from the other side: the scores are X (W_khᵀ q_hᵀ), and P_h (X W_vhᵀ + b) =
/// (P_h X) W_vhᵀ + b because each row of P sums to one. With T·H below C (7 tokens x 8 heads against
/// 128 channels in SAM) this halves the work; otherwise the plain composition runs. Prompts that share
/// one image side go through its GEMM together, as one wider product.
/// Folded matrices put columns in token-major order, column j·H + h.
/// </summary>
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public Tensor ImageToTokenAttention(Tensor image, Parameter? qWeight, Parameter? qBias, Tensor k, Tensor v, int heads, Parameter outWeight, Parameter outBias)
    {
        var (b, n, t, c, din, d) = OpShapes.ImageToTokenAttention(image, qWeight, qBias, k, v, heads, outWeight, outBias);
        int th = t * heads, hd = c / heads;
        if (th > c) return ComposedOps.ImageToTokenAttention(this, image, qWeight, qBias, k, v, heads, outWeight, outBias);

        float scale = 1f / MathF.Sqrt(hd);
        var x = Cpu(image).Data;
        var kd = Cpu(k).Data;
        var vd = Cpu(v).Data;
        var wq = qWeight is null ? null : Floats(qWeight);
        var bq = qBias is null ? null : Floats(qBias);
        var wOutT = TransposedFloats(outWeight); // [C, D]
        var bOut = Floats(outBias);
        var y = CpuTensor.Uninitialized(b, n, d);
        int group = image.Dim(0) == 1 ? b : 1, cols = group * th; // prompts sharing one image side
        // Scratch from the pool: fresh arrays of this size would be new pages to map on every call.
        var pool = HostBufferPool.Shared;
        float[] aT = pool.Rent(cols * din), vOut = pool.Rent(cols * d), scores = pool.Rent(n * cols), colBias = pool.Rent(cols);
        try
        {
            for (int g0 = 0; g0 < b; g0 += group)
            {
                // Aᵀ [T·H, Din] per prompt: each head's key times its slice of the query projection,
                // scaled; V' [T·H, D]: each head's value times its slice of the output projection.
                aT.AsSpan(0, cols * din).Clear();
                colBias.AsSpan(0, cols).Clear();
                vOut.AsSpan(0, cols * d).Clear();
                for (int p = 0; p < group; p++)
                    for (int j = 0; j < t; j++)
                        for (int h = 0; h < heads; h++)
                        {
                            int col = p * th + j * heads + h;
                            var aRow = aT.AsSpan(col * din, din);
                            var vRow = vOut.AsSpan(col * d, d);
                            for (int dd = 0; dd < hd; dd++)
                            {
                                int ch = h * hd + dd, tok = ((g0 + p) * t + j) * c + ch;
                                float kv = kd[tok] * scale;
                                if (wq is null) aRow[ch] = kv;
                                else Elementwise.MultiplyAdd(aRow, wq.AsSpan(ch * din, din), kv);
                                if (bq is not null) colBias[col] += bq[ch] * kv;
                                Elementwise.MultiplyAdd(vRow, wOutT.AsSpan(ch * d, d), vd[tok]);
                            }
                        }

                Gemm.Multiply(n, x, group == b ? 0 : g0 * n * din, GemmRhs.Transposed(aT, 0, cols, din), scores, 0, colBias);
                SoftmaxHeadGroups(scores, n, group, t, heads);
                for (int p = 0; p < group; p++)
                    Gemm.Multiply(n, scores, p * th, GemmRhs.Plain(vOut, p * th * d, th, d), y.Data, (g0 + p) * n * d, bOut, lda: cols);
            }
        }
        finally
        {
            pool.Return(colBias);
            pool.Return(scores);
            pool.Return(vOut);
            pool.Return(aT);
        }
        return y;
    }

    /// <inheritdoc />
    public Tensor TokenToImageAttention(Tensor q, Tensor keys, Parameter? kWeight, Parameter? kBias, Tensor values, Parameter? vWeight, Parameter? vBias, int heads)
    {
        var (b, n, t, c, din) = OpShapes.TokenToImageAttention(q, keys, kWeight, kBias, values, vWeight, vBias, heads);
        int th = t * heads, hd = c / heads;
        if (th > c) return ComposedOps.TokenToImageAttention(this, q, keys, kWeight, kBias, values, vWeight, vBias, heads);

        float scale = 1f / MathF.Sqrt(hd);
        var qd = Cpu(q).Data;
        var xk = Cpu(keys).Data;
        var xv = Cpu(values).Data;
        var wk = kWeight is null ? null : Floats(kWeight);
        var wv = vWeight is null ? null : Floats(vWeight);
        var bv = vBias is null ? null : Floats(vBias);
        var y = CpuTensor.Uninitialized(b, t, c);
        int group = keys.Dim(0) == 1 ? b : 1, cols = group * th; // prompts sharing one image side
        var pool = HostBufferPool.Shared;
        float[] qFold = pool.Rent(cols * din), px = pool.Rent(din * cols), weights = pool.Rent(n * cols);
        float[] pxColumn = pool.Rent(din), colMax = pool.Rent(cols), colSum = pool.Rent(cols);
        try
        {
            for (int g0 = 0; g0 < b; g0 += group)
            {
                // Qf [T·H, Din] per prompt: each head's query times its slice of the key projection,
                // scaled. The key bias adds q_h·b_kh to a whole row of scores, which the softmax over
                // N cancels.
                qFold.AsSpan(0, cols * din).Clear();
                for (int p = 0; p < group; p++)
                    for (int j = 0; j < t; j++)
                        for (int h = 0; h < heads; h++)
                        {
                            var dst = qFold.AsSpan((p * th + j * heads + h) * din, din);
                            for (int dd = 0; dd < hd; dd++)
                            {
                                int ch = h * hd + dd;
                                float qv = qd[((g0 + p) * t + j) * c + ch] * scale;
                                if (wk is null) dst[ch] = qv;
                                else Elementwise.MultiplyAdd(dst, wk.AsSpan(ch * din, din), qv);
                            }
                        }

                int xOff = group == b ? 0 : g0 * n * din;
                Gemm.Multiply(n, xk, xOff, GemmRhs.Transposed(qFold, 0, cols, din), weights, 0); // scoresᵀ [N, cols]
                ExpOverColumns(weights, n, cols, colMax, colSum);
                Gemm.Multiply(din, xv, xOff, GemmRhs.Plain(weights, 0, n, cols), px, 0, transposedA: true); // (P X)ᵀ [Din, cols]

                for (int p = 0; p < group; p++)
                    for (int j = 0; j < t; j++)
                        for (int h = 0; h < heads; h++)
                        {
                            int col = p * th + j * heads + h;
                            var pxRow = pxColumn.AsSpan(0, din);
                            for (int i = 0; i < din; i++) pxRow[i] = px[i * cols + col];
                            float inv = 1f / colSum[col];
                            for (int dd = 0; dd < hd; dd++)
                            {
                                int ch = h * hd + dd;
                                float o = wv is null ? pxRow[ch] : Elementwise.Dot(pxRow, wv.AsSpan(ch * din, din));
                                y.Data[((g0 + p) * t + j) * c + ch] = o * inv + (bv?[ch] ?? 0);
                            }
                        }
            }
        }
        finally
        {
            pool.Return(colSum);
            pool.Return(colMax);
            pool.Return(pxColumn);
            pool.Return(weights);
            pool.Return(px);
            pool.Return(qFold);
        }
        return y;
    }

    /// <summary>
    /// Softmax of each row's scores [N, groups·T·H] over the T tokens of each head of each group
    /// (columns g·T·H + j·H + h for fixed g and h), in place. With 8 heads (SAM's decoder) a head
    /// group is one 256-bit vector.
    /// </summary>
    private static void SoftmaxHeadGroups(float[] scores, int n, int groups, int t, int heads)
    {
        int th = t * heads, cols = groups * th;
        bool vector = heads == Vector256<float>.Count && Vector256.IsHardwareAccelerated;
        Elementwise.ForRanges(n, Math.Max(1, Elementwise.ParallelGrain / cols), (s, e) =>
        {
            for (int r = s; r < e; r++)
                for (int g = 0; g < groups; g++)
                {
                    var row = scores.AsSpan(r * cols + g * th, th);
                    if (vector) SoftmaxGroups8(row, t);
                    else
                        for (int h = 0; h < heads; h++)
                        {
                            float max = float.NegativeInfinity, sum = 0;
                            for (int j = 0; j < t; j++) max = Math.Max(max, row[j * heads + h]);
                            for (int j = 0; j < t; j++) sum += row[j * heads + h] = MathF.Exp(row[j * heads + h] - max);
                            float inv = 1f / sum;
                            for (int j = 0; j < t; j++) row[j * heads + h] *= inv;
                        }
                }
        });
    }

    private static unsafe void SoftmaxGroups8(Span<float> row, int t)
    {
        fixed (float* p = row)
        {
            var max = Simd256.Load(p);
            for (int j = 1; j < t; j++) max = Simd256.Max(max, Simd256.Load(p + j * 8));
            var sum = Simd256.Create(0f);
            for (int j = 0; j < t; j++)
            {
                var e = SimdMath.Exp(Simd256.Load(p + j * 8) - max);
                e.Store(p + j * 8);
                sum += e;
            }
            var inv = Simd256.Create(1f) / sum;
            for (int j = 0; j < t; j++) (Simd256.Load(p + j * 8) * inv).Store(p + j * 8);
        }
    }

    /// <summary>
    /// Each column of scores [N, cols] becomes exp(score − column max), in place; <paramref name="sum"/>
    /// gets the column sums (the softmax over N, left unnormalised). Row ranges run on all cores, each
    /// with its own partial maxima and sums, merged in between. <paramref name="max"/> and
    /// <paramref name="sum"/> hold at least <paramref name="cols"/> values.
    /// </summary>
    private static void ExpOverColumns(float[] scores, int n, int cols, float[] max, float[] sum)
    {
        int parts = Math.Max(1, Math.Min(Environment.ProcessorCount, n * cols / Elementwise.ParallelGrain));
        float[] partMax = HostBufferPool.Shared.Rent(parts * cols), partSum = HostBufferPool.Shared.Rent(parts * cols);
        partMax.AsSpan(0, parts * cols).Fill(float.NegativeInfinity);
        partSum.AsSpan(0, parts * cols).Clear();
        CpuParallel.For(0, parts, p =>
        {
            var pm = partMax.AsSpan(p * cols, cols);
            for (int r = n * p / parts, end = n * (p + 1) / parts; r < end; r++) Elementwise.MaxInPlace(pm, scores.AsSpan(r * cols, cols));
        });
        var colMax = max.AsSpan(0, cols);
        colMax.Fill(float.NegativeInfinity);
        for (int p = 0; p < parts; p++) Elementwise.MaxInPlace(colMax, partMax.AsSpan(p * cols, cols));
        CpuParallel.For(0, parts, p =>
        {
            var ps = partSum.AsSpan(p * cols, cols);
            for (int r = n * p / parts, end = n * (p + 1) / parts; r < end; r++) Elementwise.ExpShiftedAccumulate(scores.AsSpan(r * cols, cols), max.AsSpan(0, cols), ps);
        });
        var colSum = sum.AsSpan(0, cols);
        colSum.Clear();
        for (int p = 0; p < parts; p++) Elementwise.AddInPlace(colSum, partSum.AsSpan(p * cols, cols));
        HostBufferPool.Shared.Return(partSum);
        HostBufferPool.Shared.Return(partMax);
    }
}
