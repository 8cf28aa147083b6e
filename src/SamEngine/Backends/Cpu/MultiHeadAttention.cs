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
    /// Windowed attention on packed qkv [h, w, 3c] → y [oh, ow, c] (<paramref name="g"/>): key windows
    /// of wh x ww tokens tile the zero-padded grid (window partition and padding by indexing: a padded
    /// token's q, k, v is the qkv bias, since its input is zero), or the whole grid when wh x ww is h x w.
    /// Unpooled, each window's tokens are its own queries (the ViT, with <paramref name="relPos"/>;
    /// Hiera without). With <paramref name="poolQuery"/> (Hiera's stage transitions) a window's queries
    /// are its q max-pooled 2x2, gathered into the worker's scratch, and land in the same window of the
    /// pooled grid, cropped to oh x ow as upstream's <c>window_unpartition</c> does.
    /// </summary>
    public static void Windowed(SimdPath path, float[] qkv, OpShapes.AttentionWindows g, int heads, bool poolQuery,
        RelPos? relPos, float[] qkvBias, float keyScale, float postScale, float[] y)
    {
        int hd = g.HeadDim, c = g.C, c3 = 3 * c, t = g.WindowH * g.WindowW, tq = g.QueryWindowH * g.QueryWindowW, nwx = g.WindowsX;
        CpuParallel.For(0, g.WindowsY * nwx * heads, FlashAttention.Scratches, (item, s) =>
        {
            int head = item % heads, win = item / heads, wy = win / nwx, wx = win % nwx;
            var starts = Scratch.Ensure(ref s.Starts, t);
            var outStarts = Scratch.Ensure(ref s.OutStarts, tq);
            for (int ti = 0; ti < t; ti++)
            {
                int gy = wy * g.WindowH + ti / g.WindowW, gx = wx * g.WindowW + ti % g.WindowW;
                starts[ti] = gy < g.H && gx < g.W ? (gy * g.W + gx) * c3 : -1;
            }
            for (int qi = 0; qi < tq; qi++)
            {
                int oy = wy * g.QueryWindowH + qi / g.QueryWindowW, ox = wx * g.QueryWindowW + qi % g.QueryWindowW;
                outStarts[qi] = oy < g.OutH && ox < g.OutW ? (oy * g.OutW + ox) * c : -1;
            }
            var k = new HeadRows(qkv, starts, t, c + head * hd, qkvBias);
            var v = k with { Offset = 2 * c + head * hd };
            var q = poolQuery ? PooledQueries(qkv, g, wy, wx, head * hd, qkvBias, s) : k with { Offset = head * hd };
            FlashAttention.Attend(path, q, k, v, hd, keyScale, postScale, relPos, y, outStarts, head * hd, s);
        });
    }

    /// <summary>
    /// One head's queries of window (wy, wx), each the 2x2 maximum (floor) of q over the window's
    /// tokens (padded ones hold the bias), as rows [tq, d] in the worker's scratch.
    /// </summary>
    private static HeadRows PooledQueries(float[] qkv, OpShapes.AttentionWindows g, int wy, int wx, int column, float[] qkvBias,
        FlashAttention.HeadScratch s)
    {
        int d = g.HeadDim, c3 = 3 * g.C, tq = g.QueryWindowH * g.QueryWindowW;
        var pooled = Scratch.Ensure(ref s.PooledQ, tq * d);
        var rows = Scratch.Ensure(ref s.QueryStarts, tq);
        for (int qi = 0; qi < tq; qi++)
        {
            rows[qi] = qi * d;
            var dst = pooled.AsSpan(qi * d, d);
            int y0 = wy * g.WindowH + 2 * (qi / g.QueryWindowW), x0 = wx * g.WindowW + 2 * (qi % g.QueryWindowW);
            for (int p = 0; p < 4; p++)
            {
                int gy = y0 + p / 2, gx = x0 + p % 2;
                var src = gy < g.H && gx < g.W ? qkv.AsSpan((gy * g.W + gx) * c3 + column, d) : qkvBias.AsSpan(column, d);
                if (p == 0) src.CopyTo(dst);
                else Elementwise.MaxInPlace(dst, src);
            }
        }
        return new HeadRows(pooled, rows, tq, 0);
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
