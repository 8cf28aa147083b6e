using SamEngine.Weights;

namespace SamEngine.Backends.Cpu;

public sealed partial class CpuBackend
{
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
        var rh = Floats(relPosH);
        var rw = Floats(relPosW);
        var y = new CpuTensor(1, h, w, c);
        int problems = nwy * nwx * heads;
        void Solve(int pIdx, bool parallelInside)
        {
            int head = pIdx % heads, win = pIdx / heads, wy = win / nwx, wx = win % nwx;
            int t = wh * ww;
            var q = new float[t * hd];
            var k = new float[t * hd];
            var v = new float[t * hd];
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
            var o = AttentionCore.Attend(q, k, v, t, t, hd, 1f / MathF.Sqrt(hd), scaleQueryFirst: true,
                new RelPos(rh, rw, wh, ww, hd), parallelInside);
            for (int ty = 0; ty < wh; ty++)
                for (int tx = 0; tx < ww; tx++)
                {
                    int gy = wy * wh + ty, gx = wx * ww + tx;
                    if (gy >= h || gx >= w) continue;
                    Array.Copy(o, (ty * ww + tx) * hd, y.Data, (gy * w + gx) * c + head * hd, hd);
                }
        }
        if (problems >= Environment.ProcessorCount * 2) Parallel.For(0, problems, p => Solve(p, false));
        else for (int p = 0; p < problems; p++) Solve(p, true);
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
        var y = new CpuTensor(b, nq, c);
        float[] Gather(float[] src, int bi, int n, int head)
        {
            var r = new float[n * hd];
            for (int i = 0; i < n; i++) Array.Copy(src, (bi * n + i) * c + head * hd, r, i * hd, hd);
            return r;
        }
        int problems = b * heads;
        void Solve(int p, bool parallelInside)
        {
            int bi = p / heads, head = p % heads;
            var o = AttentionCore.Attend(Gather(qd, bi, nq, head), Gather(kd, bi, nk, head), Gather(vd, bi, nk, head),
                nq, nk, hd, 1f / MathF.Sqrt(hd), scaleQueryFirst: false, relPos: null, parallelInside);
            for (int i = 0; i < nq; i++) Array.Copy(o, i * hd, y.Data, (bi * nq + i) * c + head * hd, hd);
        }
        if (problems >= Environment.ProcessorCount * 2) Parallel.For(0, problems, p => Solve(p, false));
        else for (int p = 0; p < problems; p++) Solve(p, true);
        return y;
    }
}

/// <summary>Decomposed relative-position tables for a qh x qw grid attending to itself.</summary>
internal sealed record RelPos(float[] TableH, float[] TableW, int GridH, int GridW, int HeadDim);

/// <summary>Single-head attention on the CPU: softmax(scale · Q Kᵀ + rel-pos bias) V.</summary>
internal static class AttentionCore
{
    /// <summary>
    /// q [nq, d], k and v [nk, d] → [nq, d]. <paramref name="scaleQueryFirst"/> follows upstream's
    /// order of rounding: the ViT scales q before the product, the decoder divides the product.
    /// The relative-position bias (ViT only) uses the unscaled q, as upstream does.
    /// </summary>
    public static float[] Attend(float[] q, float[] k, float[] v, int nq, int nk, int d, float scale, bool scaleQueryFirst, RelPos? relPos, bool parallel)
    {
        var scores = new float[nq * nk];
        float[] a = q;
        if (scaleQueryFirst)
        {
            a = new float[q.Length];
            for (int i = 0; i < q.Length; i++) a[i] = q[i] * scale;
        }
        Gemm.Multiply(nq, a, 0, GemmRhs.Transposed(k, 0, nk, d), scores, 0, parallel: parallel);
        void Row(int i)
        {
            var row = scores.AsSpan(i * nk, nk);
            if (!scaleQueryFirst) for (int j = 0; j < nk; j++) row[j] *= scale;
            if (relPos is not null) AddRelPos(row, q.AsSpan(i * d, d), i, relPos);
            Elementwise.SoftmaxRow(row);
        }
        if (parallel) Parallel.For(0, nq, Row);
        else for (int i = 0; i < nq; i++) Row(i);
        var o = new float[nq * d];
        Gemm.Multiply(nq, scores, 0, GemmRhs.Plain(v, 0, nk, d), o, 0, parallel: parallel);
        return o;
    }

    // bias[(ky, kx)] = q · Rh[qy - ky + H - 1] + q · Rw[qx - kx + W - 1]
    private static void AddRelPos(Span<float> row, ReadOnlySpan<float> q, int i, RelPos rp)
    {
        int gh = rp.GridH, gw = rp.GridW, d = rp.HeadDim, qy = i / gw, qx = i % gw;
        Span<float> relH = stackalloc float[gh];
        Span<float> relW = stackalloc float[gw];
        for (int ky = 0; ky < gh; ky++) relH[ky] = Dot(q, rp.TableH.AsSpan((qy - ky + gh - 1) * d, d));
        for (int kx = 0; kx < gw; kx++) relW[kx] = Dot(q, rp.TableW.AsSpan((qx - kx + gw - 1) * d, d));
        for (int ky = 0; ky < gh; ky++)
        {
            var seg = row.Slice(ky * gw, gw);
            float bh = relH[ky];
            for (int kx = 0; kx < gw; kx++) seg[kx] += bh + relW[kx];
        }
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}
