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
        if (relPosH.Shape[0] != 2 * wh - 1 || relPosW.Shape[0] != 2 * ww - 1 || relPosH.Shape[1] != hd || relPosW.Shape[1] != hd)
            throw new ArgumentException($"relative position tables {ShapeUtil.Format(relPosH.Shape)} / {ShapeUtil.Format(relPosW.Shape)} do not fit a {wh}x{ww} window of head dim {hd}");
        var y = CpuTensor.Uninitialized(1, h, w, c);
        var path = Gemm.ActivePath;
        var relPos = new RelPos(path, Floats(relPosH), Floats(relPosW), wh, ww, hd);
        MultiHeadAttention.Vit(path, Cpu(qkv).Data, h, w, c, heads, wh, ww, relPos, Floats(qkvBias), y.Data);
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
        MultiHeadAttention.Dense(Gemm.ActivePath, qd, kd, vd, b, nq, nk, c, heads, y.Data);
        return y;
    }
}
