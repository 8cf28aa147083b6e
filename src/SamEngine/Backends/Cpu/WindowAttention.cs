namespace SamEngine.Backends.Cpu;

/// <summary>
/// TinyViT's window attention with attention biases (<see cref="IBackend.TinyVitAttention"/>): one work
/// item per (window, head), each a <see cref="FlashAttention"/> call over the window's rows read in place
/// (padded tokens take the pad row), with the head's biases added to the scores from a table laid out as
/// the kernel's transposed score blocks (<see cref="BiasPanels"/>).
/// </summary>
internal static class WindowAttention
{
    /// <summary>
    /// The biases B [heads, w²] of every (query, key) pair of a w x w window, as <see cref="FlashAttention"/>
    /// reads them on <paramref name="path"/>: per head, per panel of NR queries, [keys rounded up to MR][NR]
    /// (zero for padded queries and keys). The pair's bias is upstream's
    /// <c>attention_biases[:, attention_bias_idxs]</c>, where the index of two points of a square window is
    /// the order their offset (|Δy|, |Δx|) is first met, which is |Δy|·w + |Δx|.
    /// </summary>
    public static float[] BiasPanels(SimdPath path, float[] biases, int heads, int w)
    {
        var (mr, nr) = GemmKernels.Tile(path);
        int t = w * w, panels = (t + nr - 1) / nr, keys = AttentionPacking.RoundUp(t, mr), perHead = panels * keys * nr;
        var table = new float[heads * perHead];
        for (int hd = 0; hd < heads; hd++)
            for (int i = 0; i < t; i++)
                for (int j = 0; j < t; j++)
                    table[hd * perHead + ((i / nr) * keys + j) * nr + i % nr] = biases[hd * t + Math.Abs(i / w - j / w) * w + Math.Abs(i % w - j % w)];
        return table;
    }

    /// <summary>
    /// qkv [H, W, heads·3d] per head (q, k, v) → y [H, W, heads·d]; <paramref name="pad"/> is a padded
    /// token's qkv; <paramref name="biasPanels"/> is <see cref="BiasPanels"/> for <paramref name="path"/>.
    /// </summary>
    public static void Run(SimdPath path, float[] qkv, float[] pad, int h, int w, int heads, int d, int window, float[] biasPanels, float[] y)
    {
        int nh = (h + window - 1) / window, nw = (w + window - 1) / window, t = window * window, c3 = heads * 3 * d;
        int perHead = biasPanels.Length / heads;
        float scale = 1f / MathF.Sqrt(d);
        CpuParallel.For(0, nh * nw * heads, FlashAttention.Scratches, (item, s) =>
        {
            int head = item % heads, win = item / heads, wy = win / nw, wx = win % nw;
            var starts = Scratch.Ensure(ref s.Starts, t);
            var outStarts = Scratch.Ensure(ref s.OutStarts, t);
            for (int i = 0; i < t; i++)
            {
                int yy = wy * window + i / window, xx = wx * window + i % window;
                bool inside = yy < h && xx < w; // padded queries are cropped away
                starts[i] = inside ? (yy * w + xx) * c3 : -1;
                outStarts[i] = inside ? (yy * w + xx) * heads * d : -1;
            }
            var q = new HeadRows(qkv, starts, t, head * 3 * d, pad);
            FlashAttention.Attend(path, q, q with { Offset = head * 3 * d + d }, q with { Offset = head * 3 * d + 2 * d }, d,
                keyScale: 1f, postScale: scale, relPos: null, y, outStarts, head * d, s, new ScoreBias(biasPanels, head * perHead));
        });
    }
}
