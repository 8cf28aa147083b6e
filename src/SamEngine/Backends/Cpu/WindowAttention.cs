namespace SamEngine.Backends.Cpu;

/// <summary>
/// TinyViT's window attention with attention biases (<see cref="IBackend.TinyVitAttention"/>): one work
/// item per (window, head) gathers the window's q, k and v (padded tokens take the pad row), scores
/// every query against every key as rows of multiply-adds over the transposed keys, adds the bias of
/// each pair's offset, and accumulates the softmax-weighted values.
/// </summary>
internal static class WindowAttention
{
    private sealed class Buffers
    {
        public float[]? Q, KT, V, Scores, Out;
    }

    private static readonly ScratchPool<Buffers> Scratches = new();

    /// <summary>
    /// The biases B [heads, w²] expanded to every (query, key) pair of a window, [heads, w², w²]:
    /// upstream's <c>attention_biases[:, attention_bias_idxs]</c>, where the index of two points of a
    /// square window is the order their offset (|Δy|, |Δx|) is first met, which is |Δy|·w + |Δx|.
    /// </summary>
    public static float[] BiasTable(float[] biases, int heads, int w)
    {
        int t = w * w;
        var table = new float[heads * t * t];
        for (int hd = 0; hd < heads; hd++)
            for (int i = 0; i < t; i++)
                for (int j = 0; j < t; j++)
                    table[(hd * t + i) * t + j] = biases[hd * t + Math.Abs(i / w - j / w) * w + Math.Abs(i % w - j % w)];
        return table;
    }

    /// <summary>qkv [H, W, heads·3d] per head (q, k, v) → y [H, W, heads·d]; <paramref name="pad"/> is a padded token's qkv.</summary>
    public static void Run(float[] qkv, float[] pad, int h, int w, int heads, int d, int window, float[] biasTable, float[] y)
    {
        int nh = (h + window - 1) / window, nw = (w + window - 1) / window, t = window * window, c3 = heads * 3 * d;
        float scale = 1f / MathF.Sqrt(d);
        CpuParallel.For(0, nh * nw * heads, Scratches, (item, s) =>
        {
            int hd = item % heads, win = item / heads, wy = win / nw, wx = win % nw;
            var q = Scratch.Ensure(ref s.Q, t * d);
            var kt = Scratch.Ensure(ref s.KT, d * t);
            var v = Scratch.Ensure(ref s.V, t * d);
            var scores = Scratch.Ensure(ref s.Scores, t);
            var o = Scratch.Ensure(ref s.Out, d);
            for (int i = 0; i < t; i++)
            {
                int yy = wy * window + i / window, xx = wx * window + i % window;
                var src = yy < h && xx < w ? qkv.AsSpan((yy * w + xx) * c3 + hd * 3 * d, 3 * d) : pad.AsSpan(hd * 3 * d, 3 * d);
                for (int c = 0; c < d; c++)
                {
                    q[i * d + c] = src[c] * scale;
                    kt[c * t + i] = src[d + c];
                }
                src.Slice(2 * d, d).CopyTo(v.AsSpan(i * d, d));
            }
            for (int i = 0; i < t; i++)
            {
                int yy = wy * window + i / window, xx = wx * window + i % window;
                if (yy >= h || xx >= w) continue; // padded queries are cropped away
                var row = scores.AsSpan(0, t);
                biasTable.AsSpan((hd * t + i) * t, t).CopyTo(row);
                for (int c = 0; c < d; c++) Elementwise.MultiplyAdd(row, kt.AsSpan(c * t, t), q[i * d + c]);
                float sum = Elementwise.ExpShiftedSum(row, Elementwise.Max(row));
                var acc = o.AsSpan(0, d);
                acc.Clear();
                for (int j = 0; j < t; j++) Elementwise.MultiplyAdd(acc, v.AsSpan(j * d, d), row[j]);
                var dst = y.AsSpan((yy * w + xx) * heads * d + hd * d, d);
                float inv = 1f / sum;
                for (int c = 0; c < d; c++) dst[c] = acc[c] * inv;
            }
        });
    }
}
