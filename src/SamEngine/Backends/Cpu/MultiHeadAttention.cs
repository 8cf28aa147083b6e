namespace SamEngine.Backends.Cpu;

/// <summary>
/// Splits multi-head attention into independent single-head <see cref="FlashAttention"/> calls, one
/// work item per (window, head) or (batch, head), spread over all cores. Each item reads its rows in
/// place (<see cref="HeadRows"/>) and writes its output columns straight into the result. Each worker
/// keeps one <see cref="FlashAttention.HeadScratch"/> for all its items.
/// </summary>
internal static class MultiHeadAttention
{
    /// <summary>
    /// The ViT's attention on packed qkv [h, w, 3c] → y [h, w, c]: windows of wh x ww tokens tiling the
    /// zero-padded grid (window partition and padding by indexing: a padded token's q, k, v is the qkv
    /// bias, since its input is zero), or the whole grid when wh x ww is h x w.
    /// </summary>
    public static void Vit(SimdPath path, float[] qkv, int h, int w, int c, int heads, int wh, int ww,
        RelPos relPos, float[] qkvBias, float[] y)
    {
        int hd = c / heads, c3 = 3 * c, t = wh * ww;
        int nwy = (h + wh - 1) / wh, nwx = (w + ww - 1) / ww;
        float keyScale = 1f / MathF.Sqrt(hd); // upstream scales q; see FlashAttention.Attend
        CpuParallel.For(0, nwy * nwx * heads, FlashAttention.Scratches, (item, s) =>
        {
            int head = item % heads, win = item / heads, wy = win / nwx, wx = win % nwx;
            var starts = Scratch.Ensure(ref s.Starts, t);
            var outStarts = Scratch.Ensure(ref s.OutStarts, t);
            for (int ty = 0; ty < wh; ty++)
                for (int tx = 0; tx < ww; tx++)
                {
                    int gy = wy * wh + ty, gx = wx * ww + tx, ti = ty * ww + tx;
                    bool inside = gy < h && gx < w;
                    starts[ti] = inside ? (gy * w + gx) * c3 : -1;
                    outStarts[ti] = inside ? (gy * w + gx) * c : -1;
                }
            var q = new HeadRows(qkv, starts, t, head * hd, qkvBias);
            var k = q with { Offset = c + head * hd };
            var v = q with { Offset = 2 * c + head * hd };
            FlashAttention.Attend(path, q, k, v, hd, keyScale, postScale: 1f, relPos, y, outStarts, head * hd, s);
        });
    }

    /// <summary>
    /// softmax(q kᵀ / √d) v per head for q [b, nq, c], k and v [b, nk, c] → y [b, nq, c]; the product is
    /// divided after it is formed, as upstream's decoder does.
    /// </summary>
    public static void Dense(SimdPath path, float[] q, float[] k, float[] v, int b, int nq, int nk, int c, int heads, float[] y)
    {
        int hd = c / heads;
        CpuParallel.For(0, b * heads, FlashAttention.Scratches, (item, s) =>
        {
            int bi = item / heads, head = item % heads;
            var qStarts = Scratch.Ensure(ref s.OutStarts, nq);
            var kStarts = Scratch.Ensure(ref s.Starts, nk);
            for (int i = 0; i < nq; i++) qStarts[i] = (bi * nq + i) * c;
            for (int i = 0; i < nk; i++) kStarts[i] = (bi * nk + i) * c;
            var kRows = new HeadRows(k, kStarts, nk, head * hd);
            FlashAttention.Attend(path, new HeadRows(q, qStarts, nq, head * hd), kRows, kRows with { Source = v }, hd,
                keyScale: 1f, postScale: 1f / MathF.Sqrt(hd), relPos: null, y, qStarts, head * hd, s);
        });
    }
}
