using SamEngine.Weights;

namespace SamEngine.Backends;

/// <summary>
/// Ops that a backend may fuse, written once from the primitive ops: the default implementation of
/// the fused ops of <see cref="IBackend"/> and the plain reference their fused versions are tested against.
/// </summary>
public static class ComposedOps
{
    /// <summary><see cref="IBackend.ImageToTokenAttention"/> as projection, attention, projection.</summary>
    public static Tensor ImageToTokenAttention(IBackend be, Tensor image, Parameter? qWeight, Parameter? qBias, Tensor k, Tensor v, int heads, Parameter outWeight, Parameter outBias)
    {
        var (b, _, _, _, _, _) = OpShapes.ImageToTokenAttention(image, qWeight, qBias, k, v, heads, outWeight, outBias);
        // Only the tensors made here are disposed here; the caller's stay alive.
        using var projected = qWeight is null ? null : be.Linear(image, qWeight, qBias);
        var q = projected ?? image;
        using var repeated = q.Dim(0) != b ? Repeat(be, q, b) : null;
        using var attended = be.Attention(repeated ?? q, k, v, heads);
        return be.Linear(attended, outWeight, outBias);
    }

    /// <summary><see cref="IBackend.TokenToImageAttention"/> as projections and attention.</summary>
    public static Tensor TokenToImageAttention(IBackend be, Tensor q, Tensor keys, Parameter? kWeight, Parameter? kBias, Tensor values, Parameter? vWeight, Parameter? vBias, int heads)
    {
        var (b, _, t, c, _) = OpShapes.TokenToImageAttention(q, keys, kWeight, kBias, values, vWeight, vBias, heads);
        using var projectedK = kWeight is null ? null : be.Linear(keys, kWeight, kBias);
        using var projectedV = vWeight is null ? null : be.Linear(values, vWeight, vBias);
        Tensor k = projectedK ?? keys, v = projectedV ?? values;
        if (k.Dim(0) == b) return be.Attention(q, k, v, heads);
        // Shared keys and values: every prompt's tokens are queries of one batch.
        using var queries = be.Reshape(q, 1, b * t, c);
        using var attended = be.Attention(queries, k, v, heads);
        return be.Reshape(attended, b, t, c); // the view keeps the data
    }

    /// <summary><see cref="IBackend.UpscaledMaskLogits"/> op by op.</summary>
    public static Tensor UpscaledMaskLogits(IBackend be, Tensor x, UpscalingWeights w, Tensor hyper, Tensor? featS1 = null, Tensor? featS0 = null)
    {
        OpShapes.UpscaledMaskLogits(x, w, hyper, featS1, featS0);
        int b = x.Dim(0), side = 4 * x.Dim(1);
        using var up0 = be.ConvTranspose2x2(x, w.Conv1Weight, w.Conv1Bias);
        // The skips [1, ...] lose their batch dimension to broadcast over the prompts.
        using var s1 = featS1 is null ? null : be.Reshape(featS1, featS1.Shape[1..]);
        using var norm = be.LayerNorm(up0, w.NormWeight, w.NormBias, w.NormEps, residual: s1); // ln1(dc1(src) + feat_s1)
        using var act = be.Activate(norm, Activation.Gelu);
        using var up1 = be.ConvTranspose2x2(act, w.Conv2Weight, w.Conv2Bias);
        using var s0 = featS0 is null ? null : be.Reshape(featS0, featS0.Shape[1..]);
        using var sum = s0 is null ? null : be.Add(up1, s0); // dc2(.) + feat_s0
        using var up = be.Activate(sum ?? up1, Activation.Gelu);
        using var rows = be.Reshape(up, b, side * side, up.Dim(3));
        return be.MatMulTransposed(hyper, rows);
    }

    /// <summary><see cref="IBackend.InvertedBottleneck"/> op by op.</summary>
    public static Tensor InvertedBottleneck(IBackend be, Tensor x, InvertedBottleneckWeights w, Activation act, Tensor? residual)
    {
        OpShapes.InvertedBottleneck(x, w, act, residual);
        using var expanded = be.Conv2dBn(x, w.Expand, w.ExpandBn, 1, 0, Activation.Gelu);
        using var hidden = be.DepthwiseConv2dBn(expanded, w.Depthwise, w.DepthwiseBn, w.Stride, Activation.Gelu);
        return be.Conv2dBn(hidden, w.Project, w.ProjectBn, 1, 0, act, residual);
    }

    /// <summary>[1, N, C] repeated to [B, N, C].</summary>
    private static Tensor Repeat(IBackend be, Tensor x, int b)
    {
        using var flat = be.Reshape(x, 1, 1, x.Length);
        using var copies = be.ConcatRows(Enumerable.Repeat(flat, b).ToArray());
        return be.Reshape(copies, [b, .. x.Shape[1..]]); // the view keeps the data
    }
}
