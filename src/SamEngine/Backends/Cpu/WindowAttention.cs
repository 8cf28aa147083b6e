using System.Numerics;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// TinyViT's window attention with attention biases (<see cref="IBackend.TinyVitAttention"/>): one work
/// item per (window, head) gathers the window's q (pre-scaled), kᵀ and v (padded tokens take the pad
/// row), then works on blocks of four queries: their scores against every key with the keys in SIMD
/// lanes (each kᵀ vector feeds four accumulators), the bias of each pair's offset, a softmax per row,
/// and the weighted sum of the values with the head dimension in lanes (each value vector feeds four).
/// </summary>
internal static class WindowAttention
{
    private const int Rows = 4;

    private sealed class Buffers
    {
        public float[]? Q, KT, V, Scores;
    }

    private static readonly ScratchPool<Buffers> Scratches = new();

    /// <summary>Keys per score row, rounded up to whole vectors (the extra columns are computed and never read).</summary>
    public static int PaddedKeys(int window) => (window * window + Vector<float>.Count - 1) / Vector<float>.Count * Vector<float>.Count;

    /// <summary>
    /// The biases B [heads, w²] expanded to every (query, key) pair of a window, [heads, w², keys padded]:
    /// upstream's <c>attention_biases[:, attention_bias_idxs]</c>, where the index of two points of a
    /// square window is the order their offset (|Δy|, |Δx|) is first met, which is |Δy|·w + |Δx|.
    /// </summary>
    public static float[] BiasTable(float[] biases, int heads, int w)
    {
        int t = w * w, tp = PaddedKeys(w);
        var table = new float[heads * t * tp];
        for (int hd = 0; hd < heads; hd++)
            for (int i = 0; i < t; i++)
                for (int j = 0; j < t; j++)
                    table[(hd * t + i) * tp + j] = biases[hd * t + Math.Abs(i / w - j / w) * w + Math.Abs(i % w - j % w)];
        return table;
    }

    /// <summary>qkv [H, W, heads·3d] per head (q, k, v) → y [H, W, heads·d]; <paramref name="pad"/> is a padded token's qkv.</summary>
    public static void Run(float[] qkv, float[] pad, int h, int w, int heads, int d, int window, float[] biasTable, float[] y)
    {
        int nh = (h + window - 1) / window, nw = (w + window - 1) / window, t = window * window, tp = PaddedKeys(window), c3 = heads * 3 * d;
        int tq = (t + Rows - 1) / Rows * Rows;
        float scale = 1f / MathF.Sqrt(d);
        CpuParallel.For(0, nh * nw * heads, Scratches, (item, s) =>
        {
            int hd = item % heads, win = item / heads, wy = win / nw, wx = win % nw;
            var q = Scratch.Ensure(ref s.Q, tq * d);
            var kt = Scratch.Ensure(ref s.KT, d * tp);
            var v = Scratch.Ensure(ref s.V, t * d);
            var scores = Scratch.Ensure(ref s.Scores, Rows * tp);
            Array.Clear(q, t * d, (tq - t) * d);
            for (int i = 0; i < t; i++)
            {
                int yy = wy * window + i / window, xx = wx * window + i % window;
                var src = yy < h && xx < w ? qkv.AsSpan((yy * w + xx) * c3 + hd * 3 * d, 3 * d) : pad.AsSpan(hd * 3 * d, 3 * d);
                for (int c = 0; c < d; c++)
                {
                    q[i * d + c] = src[c] * scale;
                    kt[c * tp + i] = src[d + c];
                }
                src.Slice(2 * d, d).CopyTo(v.AsSpan(i * d, d));
            }
            for (int c = 0; c < d; c++) Array.Clear(kt, c * tp + t, tp - t);
            var bias = biasTable.AsSpan(hd * t * tp, t * tp);
            Span<float> inv = stackalloc float[Rows]; // read only where dst is set for this block
            Span<int> dst = stackalloc int[Rows];
            for (int i0 = 0; i0 < t; i0 += Rows)
            {
                Scores(q.AsSpan(i0 * d, Rows * d), kt, bias, i0, t, tp, d, scores);
                int rows = Math.Min(Rows, t - i0);
                for (int r = 0; r < Rows; r++)
                {
                    dst[r] = -1;
                    if (r >= rows) continue;
                    var row = scores.AsSpan(r * tp, t);
                    inv[r] = 1f / Elementwise.ExpShiftedSum(row, Elementwise.Max(row));
                    int i = i0 + r, yy = wy * window + i / window, xx = wx * window + i % window;
                    if (yy < h && xx < w) dst[r] = (yy * w + xx) * heads * d + hd * d; // padded queries are cropped away
                }
                WeightedValues(scores, v, t, tp, d, rows, inv, dst, y);
            }
        });
    }

    /// <summary>
    /// scores[r, j] = bias[i0 + r, j] + q[r] · kᵀ[:, j] for four query rows (a missing row's bias is 0)
    /// and every key: each kᵀ vector is loaded once for the four rows.
    /// </summary>
    private static void Scores(ReadOnlySpan<float> q, float[] kt, ReadOnlySpan<float> bias, int i0, int t, int tp, int d, float[] scores)
    {
        int vw = Vector<float>.Count, rows = Math.Min(Rows, t - i0);
        for (int j = 0; j < tp; j += vw)
        {
            Vector<float> a0 = Load(bias, i0, 0, rows, tp, j), a1 = Load(bias, i0, 1, rows, tp, j),
                a2 = Load(bias, i0, 2, rows, tp, j), a3 = Load(bias, i0, 3, rows, tp, j);
            for (int c = 0; c < d; c++)
            {
                var k = new Vector<float>(kt, c * tp + j);
                a0 = Vector.FusedMultiplyAdd(new Vector<float>(q[c]), k, a0);
                a1 = Vector.FusedMultiplyAdd(new Vector<float>(q[d + c]), k, a1);
                a2 = Vector.FusedMultiplyAdd(new Vector<float>(q[2 * d + c]), k, a2);
                a3 = Vector.FusedMultiplyAdd(new Vector<float>(q[3 * d + c]), k, a3);
            }
            a0.CopyTo(scores, j);
            a1.CopyTo(scores, tp + j);
            a2.CopyTo(scores, 2 * tp + j);
            a3.CopyTo(scores, 3 * tp + j);
        }
    }

    /// <summary>
    /// y[dst[r] + c] = inv[r] · Σ_j p[r, j] v[j, c] for the block's rows with a destination: with the head
    /// dimension in whole vectors, each value vector is loaded once for the four rows.
    /// </summary>
    private static void WeightedValues(float[] p, float[] v, int t, int tp, int d, int rows, ReadOnlySpan<float> inv, ReadOnlySpan<int> dst, float[] y)
    {
        int vw = Vector<float>.Count;
        if (d % vw != 0)
        {
            for (int r = 0; r < rows; r++)
            {
                if (dst[r] < 0) continue;
                var o = y.AsSpan(dst[r], d);
                o.Clear();
                for (int j = 0; j < t; j++) Elementwise.MultiplyAdd(o, v.AsSpan(j * d, d), p[r * tp + j]);
                for (int c = 0; c < d; c++) o[c] *= inv[r];
            }
            return;
        }
        for (int c = 0; c < d; c += vw)
        {
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int j = 0; j < t; j++)
            {
                var x = new Vector<float>(v, j * d + c);
                a0 = Vector.FusedMultiplyAdd(new Vector<float>(p[j]), x, a0);
                a1 = Vector.FusedMultiplyAdd(new Vector<float>(p[tp + j]), x, a1);
                a2 = Vector.FusedMultiplyAdd(new Vector<float>(p[2 * tp + j]), x, a2);
                a3 = Vector.FusedMultiplyAdd(new Vector<float>(p[3 * tp + j]), x, a3);
            }
            if (dst[0] >= 0) (a0 * inv[0]).CopyTo(y, dst[0] + c);
            if (dst[1] >= 0) (a1 * inv[1]).CopyTo(y, dst[1] + c);
            if (dst[2] >= 0) (a2 * inv[2]).CopyTo(y, dst[2] + c);
            if (dst[3] >= 0) (a3 * inv[3]).CopyTo(y, dst[3] + c);
        }
    }

    private static Vector<float> Load(ReadOnlySpan<float> bias, int i0, int r, int rows, int tp, int j) =>
        r < rows ? new Vector<float>(bias[((i0 + r) * tp + j)..]) : Vector<float>.Zero;
}
