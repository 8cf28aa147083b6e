using SamEngine.Weights;

namespace SamEngine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public Tensor VitAttention(Tensor qkv, int heads, int windowSize, Parameter relPosH, Parameter relPosW, Parameter qkvBias)
    {
        var (h, w, c, hd, wh, ww) = OpShapes.VitAttention(qkv, heads, windowSize, relPosH, relPosW, qkvBias);
        var y = CpuTensor.Uninitialized(1, h, w, c);
        var path = Gemm.ActivePath;
        using var relPos = new RelPos(path, Floats(relPosH), Floats(relPosW), wh, ww, hd);
        var windows = new OpShapes.AttentionWindows(h, w, c, hd, wh, ww, h, w, wh, ww);
        // Upstream scales q; folded into k here (see FlashAttention.Attend).
        MultiHeadAttention.Windowed(path, Cpu(qkv).Data, windows, heads, poolQuery: false, relPos, Floats(qkvBias),
            keyScale: 1f / MathF.Sqrt(hd), postScale: 1f, y.Data);
        return y;
    }

    /// <inheritdoc />
    public Tensor HieraAttention(Tensor qkv, int heads, int windowSize, bool poolQuery, Parameter qkvBias)
    {
        var g = OpShapes.HieraAttention(qkv, heads, windowSize, poolQuery, qkvBias);
        var y = CpuTensor.Uninitialized(1, g.OutH, g.OutW, g.C);
        // scaled_dot_product_attention scales the product.
        MultiHeadAttention.Windowed(Gemm.ActivePath, Cpu(qkv).Data, g, heads, poolQuery, relPos: null, Floats(qkvBias),
            keyScale: 1f, postScale: 1f / MathF.Sqrt(g.HeadDim), y.Data);
        return y;
    }

    /// <inheritdoc />
    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads)
    {
        var (b, nq, nk, c, hd) = OpShapes.Attention(q, k, v, heads);
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
