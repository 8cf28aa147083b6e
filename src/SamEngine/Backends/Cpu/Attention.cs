using SamEngine.Weights;

namespace SamEngine.Backends.Cpu;

public sealed partial class CpuBackend
{
    private static readonly ScratchPool<HeadBuffers> HeadScratch = new();

    /// <summary>One head's gathered q, k, v and output, per worker (see <see cref="CpuParallel"/>).</summary>
    private sealed class HeadBuffers
    {
        public float[]? QProd, QRaw, K, V, O;
    }

    private static float[] Buffer(ref float[]? b, int n) => b is { } x && x.Length >= n ? x : b = new float[n];

    /// <inheritdoc />
    public Tensor VitAttention(Tensor qkv, int heads, int windowSize, Parameter relPosH, Parameter relPosW, Parameter qkvBias)
    {
        int h = qkv.Dim(1), w = qkv.Dim(2), c3 = qkv.Dim(3), c = c3 / 3, hd = c / heads;
        if (qkv.Rank != 4 || qkv.Dim(0) != 1 || c3 != 3 * c || c != hd * heads) throw new ArgumentException($"VitAttention: bad qkv {qkv} for {heads} heads");
        // Window (or whole grid) extent; windows tile the zero-padded grid.
        int wh = windowSize > 0 ? windowSize : h, ww = windowSize > 0 ? windowSize : w;
        int nwy = (h + wh - 1) / wh, nwx = (w + ww - 1) / ww;
        if (relPosH.Shape[0] != 2 * wh - 1 || relPosW.Shape[0] != 2 * ww - 1 || relPosH.Shape[1] != hd || relPosW.Shape[1] != hd)
            throw new ArgumentException($"relative position tables {ShapeUtil.Format(relPosH.Shape)} / {ShapeUtil.Format(relPosW.Shape)} do not fit a {wh}x{ww} window of head dim {hd}");
        var src = Cpu(qkv).Data;
        var bias = Floats(qkvBias);
        var relPos = new RelPos(Floats(relPosH), Floats(relPosW), wh, ww, hd);
        var y = CpuTensor.Uninitialized(1, h, w, c);
        var path = Gemm.ActivePath;
        float scale = 1f / MathF.Sqrt(hd);
        int t = wh * ww;
        CpuParallel.For(0, nwy * nwx * heads, HeadScratch, (pIdx, scratch) =>
        {
            int head = pIdx % heads, win = pIdx / heads, wy = win / nwx, wx = win % nwx;
            var q = Buffer(ref scratch.QRaw, t * hd);
            var qs = Buffer(ref scratch.QProd, t * hd);
            var k = Buffer(ref scratch.K, t * hd);
            var v = Buffer(ref scratch.V, t * hd);
            var o = Buffer(ref scratch.O, t * hd);
            for (int ty = 0; ty < wh; ty++)
                for (int tx = 0; tx < ww; tx++)
                {
                    int gy = wy * wh + ty, gx = wx * ww + tx, ti = (ty * ww + tx) * hd;
                    bool inside = gy < h && gx < w;
                    int so = ((gy * w) + gx) * c3;
                    for (int part = 0; part < 3; part++)
                    {
                        var dst = part == 0 ? q : part == 1 ? k : v;
                        int off = part * c + head * hd;
                        if (inside) Array.Copy(src, so + off, dst, ti, hd);
                        else Array.Copy(bias, off, dst, ti, hd); // padded token: zero input, so qkv = bias
                    }
                }
            for (int i = 0; i < t * hd; i++) qs[i] = q[i] * scale; // upstream scales q before the product
            FlashAttention.Attend(path, qs, q, k, v, t, t, hd, postScale: 1f, relPos, o);
            for (int ty = 0; ty < wh; ty++)
                for (int tx = 0; tx < ww; tx++)
                {
                    int gy = wy * wh + ty, gx = wx * ww + tx;
                    if (gy >= h || gx >= w) continue;
                    Array.Copy(o, (ty * ww + tx) * hd, y.Data, (gy * w + gx) * c + head * hd, hd);
                }
        });
        return y;
    }

    /// <inheritdoc />
    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads)
    {
        int b = q.Dim(0), nq = q.Dim(1), c = q.Dim(2), nk = k.Dim(1), hd = c / heads;
        if (k.Dim(0) != b || v.Dim(0) != b || k.Dim(2) != c || v.Dim(2) != c || v.Dim(1) != nk || hd * heads != c)
            throw new ArgumentException($"Attention: q {q}, k {k}, v {v} do not fit {heads} heads");
        var qd = Cpu(q).Data;
        var kd = Cpu(k).Data;
        var vd = Cpu(v).Data;
        var y = CpuTensor.Uninitialized(b, nq, c);
        if (Math.Min(nq, nk) <= SmallAttention.MaxShortSide)
        {
            // The decoder divides the product by sqrt(d) (upstream's order of rounding).
            SmallAttention.Attend(qd, kd, vd, y.Data, b, nq, nk, c, heads, 1f / MathF.Sqrt(hd));
            return y;
        }
        var path = Gemm.ActivePath;
        static void Gather(float[] src, int bi, int n, int c, int head, int hd, float[] dst)
        {
            for (int i = 0; i < n; i++) Array.Copy(src, (bi * n + i) * c + head * hd, dst, i * hd, hd);
        }
        CpuParallel.For(0, b * heads, HeadScratch, (p, scratch) =>
        {
            int bi = p / heads, head = p % heads;
            var qh = Buffer(ref scratch.QRaw, nq * hd);
            var kh = Buffer(ref scratch.K, nk * hd);
            var vh = Buffer(ref scratch.V, nk * hd);
            var o = Buffer(ref scratch.O, nq * hd);
            Gather(qd, bi, nq, c, head, hd, qh);
            Gather(kd, bi, nk, c, head, hd, kh);
            Gather(vd, bi, nk, c, head, hd, vh);
            // The decoder divides the product by sqrt(d) (upstream's order of rounding).
            FlashAttention.Attend(path, qh, qh, kh, vh, nq, nk, hd, postScale: 1f / MathF.Sqrt(hd), relPos: null, o);
            for (int i = 0; i < nq; i++) Array.Copy(o, i * hd, y.Data, (bi * nq + i) * c + head * hd, hd);
        });
        return y;
    }
}
