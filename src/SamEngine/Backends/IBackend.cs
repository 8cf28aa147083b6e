using SamEngine.Weights;

namespace SamEngine.Backends;

/// <summary>Activation applied in a fused epilogue or on its own.</summary>
public enum Activation
{
    /// <summary>Identity.</summary>
    None,
    /// <summary>Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), as torch's nn.GELU().</summary>
    Gelu,
    /// <summary>max(x, 0).</summary>
    Relu,
}

/// <summary>
/// A LayerNorm2d applied to an op's output channels inside the op (the last dimension in NHWC), with
/// statistics in fp32: <c>weight</c> and <c>bias</c> [C].
/// </summary>
/// <param name="Weight">Per-channel scale [C].</param>
/// <param name="Bias">Per-channel shift [C].</param>
/// <param name="Eps">Added to the biased variance.</param>
public sealed record ChannelNorm(Parameter Weight, Parameter Bias, float Eps);

/// <summary>
/// BatchNorm2d in eval mode over an op's output channels (the last dimension in NHWC):
/// (y - running_mean) / sqrt(running_var + eps) · weight + bias, every parameter [C].
/// </summary>
/// <param name="Weight">Per-channel scale γ [C].</param>
/// <param name="Bias">Per-channel shift β [C].</param>
/// <param name="RunningMean">The running mean [C].</param>
/// <param name="RunningVar">The running (biased) variance [C].</param>
/// <param name="Eps">Added to the variance (torch's default 1e-5).</param>
public sealed record BatchNorm(Parameter Weight, Parameter Bias, Parameter RunningMean, Parameter RunningVar, float Eps)
{
    /// <summary>
    /// The per-channel affine map the norm is, in fp32, as torch's eval-mode batch_norm computes it (and
    /// upstream's <c>Conv2d_BN.fuse</c> folds it): scale = γ / sqrt(var + eps), shift = β - mean · scale.
    /// </summary>
    public (float[] Scale, float[] Shift) Fold()
    {
        float[] g = Weight.ToFloat(), b = Bias.ToFloat(), m = RunningMean.ToFloat(), v = RunningVar.ToFloat();
        var scale = new float[g.Length];
        var shift = new float[g.Length];
        for (int c = 0; c < g.Length; c++)
        {
            float invStd = 1f / MathF.Sqrt(v[c] + Eps);
            scale[c] = invStd * g[c];
            shift[c] = b[c] - m[c] * scale[c];
        }
        return (scale, shift);
    }
}

/// <summary>
/// The ops SAM needs, and nothing else. The model is written once against this interface; each
/// backend (managed CPU, ILGPU) implements every op. Tensors are float32 and row-major; images are
/// NHWC inside the engine. Shapes are documented as [B, N, C] etc.; leading dimensions marked "..."
/// are flattened.
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>Short name: <c>cpu</c>, <c>ilgpu-cpu</c>, <c>cuda</c>, <c>opencl</c>.</summary>
    string Name { get; }

    /// <summary>Human-readable device description.</summary>
    string Device { get; }

    /// <summary>
    /// How the backend computes: fp32, fp16 activations (an ILGPU device), or int8 for the ViT encoder's
    /// linear layers (cpu). Recorded in embedding files, whose values depend on it.
    /// </summary>
    Parity.Precision Precision => Parity.Precision.Fp32;

    /// <summary>
    /// Waits until every op launched so far has finished: a clock read after it measures the work, not
    /// its queueing. Synchronous backends (cpu) have nothing to wait for.
    /// </summary>
    void Synchronize() { }

    /// <summary>Copies host data into a new tensor.</summary>
    Tensor FromHost(ReadOnlySpan<float> data, params int[] shape);

    /// <summary>
    /// A tensor holding an fp16 parameter's values. The backend caches the values per parameter; each
    /// call returns a handle of its own, which the caller disposes like any other tensor (the cache stays).
    /// </summary>
    Tensor FromParameter(Parameter p);

    /// <summary>Copies a tensor back to the host.</summary>
    float[] ToHost(Tensor x);

    /// <summary>Copies a tensor into <paramref name="destination"/> (exactly its length), e.g. a reused host buffer.</summary>
    void ToHost(Tensor x, Span<float> destination)
    {
        if (destination.Length != x.Length) throw new ArgumentException($"{x} does not fit a buffer of {destination.Length} values");
        ToHost(x).CopyTo(destination);
    }

    /// <summary>Same data, new shape (element counts must match).</summary>
    Tensor Reshape(Tensor x, params int[] shape);

    /// <summary>
    /// y = act(x W^T + b) + residual with W [N, K] (nn.Linear layout), x [..., K] → [..., N]: the bias,
    /// <paramref name="act"/> and the optional <paramref name="residual"/> (shaped as y) are fused into
    /// the GEMM's epilogue.
    /// </summary>
    Tensor Linear(Tensor x, Parameter weight, Parameter? bias, Activation act = Activation.None, Tensor? residual = null);

    /// <summary>Batched a [B, M, K] times b [B, N, K]^T → [B, M, N].</summary>
    Tensor MatMulTransposed(Tensor a, Tensor b);

    /// <summary>a + b; b may have fewer leading dimensions than a and is then broadcast over them.</summary>
    Tensor Add(Tensor a, Tensor b);

    /// <summary>
    /// LayerNorm over the last dimension (biased variance, statistics in fp32) of x, or of
    /// x + <paramref name="residual"/> when one is given (broadcast as in <see cref="Add"/>): the
    /// transformer's residual add fused into the norm, so the sum is never written out.
    /// </summary>
    Tensor LayerNorm(Tensor x, Parameter weight, Parameter bias, float eps, Tensor? residual = null);

    /// <summary>Element-wise activation.</summary>
    Tensor Activate(Tensor x, Activation act);

    /// <summary>
    /// 2-D convolution in NHWC: x [B, H, W, Cin], weight [Cout, Cin, kh, kw] (torch layout) → [B, Ho, Wo, Cout].
    /// </summary>
    Tensor Conv2d(Tensor x, Parameter weight, Parameter? bias, int stride, int padding);

    /// <summary>
    /// Transposed convolution with kernel 2 and stride 2 in NHWC: x [B, H, W, Cin], weight [Cin, Cout, 2, 2]
    /// → [B, 2H, 2W, Cout], then the optional LayerNorm2d <paramref name="norm"/> over Cout, then
    /// <paramref name="act"/>: the mask decoder's upscaling steps as one op.
    /// </summary>
    Tensor ConvTranspose2x2(Tensor x, Parameter weight, Parameter bias, ChannelNorm? norm = null, Activation act = Activation.None);

    /// <summary>
    /// ViT self-attention core on a packed qkv tensor [1, H, W, 3C] (q, k, v each split into
    /// <paramref name="heads"/> heads) with the decomposed relative-position bias. With
    /// <paramref name="windowSize"/> &gt; 0 the grid is zero-padded to a multiple of the window and each
    /// window attends within itself (padded tokens included as keys, as upstream does: they hold the
    /// qkv bias); 0 means global attention. Returns [1, H, W, C] before the output projection.
    /// </summary>
    Tensor VitAttention(Tensor qkv, int heads, int windowSize, Parameter relPosH, Parameter relPosW, Parameter qkvBias);

    /// <summary>Multi-head attention: q [B, Nq, C], k and v [B, Nk, C] → [B, Nq, C], heads split C.</summary>
    Tensor Attention(Tensor q, Tensor k, Tensor v, int heads);

    /// <summary>Swaps the last two dimensions: [B, M, N] → [B, N, M].</summary>
    Tensor Transpose(Tensor x);

    /// <summary>Concatenates along dimension 1: [B, N_i, C] → [B, ΣN_i, C].</summary>
    Tensor ConcatRows(params Tensor[] parts);

    /// <summary>Rows [start, start + count) of dimension 1: [B, N, C] → [B, count, C].</summary>
    Tensor SliceRows(Tensor x, int start, int count);

    /// <summary>
    /// The prompt encoder's random-Fourier positional encoding of the <paramref name="grid"/> x
    /// <paramref name="grid"/> cell centres from the gaussian matrix [2, D/2]: tokens [g·g, D], row-major over (y, x).
    /// </summary>
    Tensor DensePositionalEncoding(Parameter gaussian, int grid)
    {
        var (_, d) = OpShapes.DensePositionalEncoding(gaussian, grid);
        return FromHost(FourierFeatures.DenseGrid(gaussian.ToFloat(), grid), grid * grid, d);
    }

    /// <summary>
    /// The decoder's image→token cross attention: every image position attends to a handful of prompt
    /// tokens. <paramref name="image"/> [1 or B, N, Din] is projected to queries by
    /// <paramref name="qWeight"/> [C, Din] and <paramref name="qBias"/> (null: it already holds the
    /// queries, Din = C); <paramref name="k"/> and <paramref name="v"/> [B, T, C] are the projected
    /// tokens; the heads' outputs go through <paramref name="outWeight"/> [D, C] and
    /// <paramref name="outBias"/>. Returns [B, N, D]. A batch-1 <paramref name="image"/> is shared by all B.
    /// </summary>
    Tensor ImageToTokenAttention(Tensor image, Parameter? qWeight, Parameter? qBias, Tensor k, Tensor v, int heads, Parameter outWeight, Parameter outBias) =>
        ComposedOps.ImageToTokenAttention(this, image, qWeight, qBias, k, v, heads, outWeight, outBias);

    /// <summary>
    /// The decoder's token→image cross attention: a handful of prompt tokens attend to every image
    /// position. <paramref name="q"/> [B, T, C] are the projected tokens; <paramref name="keys"/> and
    /// <paramref name="values"/> [1 or B, N, Din] are projected by <paramref name="kWeight"/> /
    /// <paramref name="vWeight"/> [C, Din] with their biases (null: they are already projected,
    /// Din = C). Returns the heads' outputs [B, T, C] (before the output projection). Batch-1 keys and
    /// values are shared by all B.
    /// </summary>
    Tensor TokenToImageAttention(Tensor q, Tensor keys, Parameter? kWeight, Parameter? kBias, Tensor values, Parameter? vWeight, Parameter? vBias, int heads) =>
        ComposedOps.TokenToImageAttention(this, q, keys, kWeight, kBias, values, vWeight, vBias, heads);

    /// <summary>
    /// SAM's output upscaling and mask product: x [B, g, g, D] through ConvTranspose2x2 →
    /// LayerNorm2d → GELU → ConvTranspose2x2 → GELU (<paramref name="weights"/>) is [B, 4g, 4g, C];
    /// every row of <paramref name="hyper"/> [B, M, C] dotted with every position gives the mask
    /// logits [B, M, 16·g·g]. The upscaled tensor itself is never needed, so a backend may fuse it away.
    /// SAM 2.1 adds its high-resolution features, shared by every prompt (both or neither):
    /// <paramref name="featS1"/> [1, 2g, 2g, C1] to the first conv's output before its LayerNorm2d,
    /// <paramref name="featS0"/> [1, 4g, 4g, C] to the second's before its GELU
    /// (<c>act1(ln1(dc1(src) + feat_s1))</c>, <c>act2(dc2(.) + feat_s0)</c>).
    /// </summary>
    Tensor UpscaledMaskLogits(Tensor x, UpscalingWeights weights, Tensor hyper, Tensor? featS1 = null, Tensor? featS0 = null) =>
        ComposedOps.UpscaledMaskLogits(this, x, weights, hyper, featS1, featS0);

    // SAM 2.x's Hiera image encoder (ImageEncoderHiera).

    /// <summary>
    /// Hiera's self-attention core (<c>MultiScaleAttention</c>) on a packed qkv [1, H, W, 3C]: q, k, v
    /// split into <paramref name="heads"/> heads, plain softmax(q kᵀ / √d) v, no relative positions.
    /// With <paramref name="windowSize"/> &gt; 0 the grid is zero-padded to a multiple of the window and
    /// each window attends within itself (padded tokens hold the qkv bias, as upstream's zero-padded
    /// input gives them); 0 means the whole grid. With <paramref name="poolQuery"/> the queries of each
    /// window (or of the grid) are max-pooled 2x2 (floor) before the product, so the windows shrink to
    /// half and the output is [1, H/2, W/2, C] laid out as upstream's <c>window_unpartition</c> of the
    /// halved windows cropped to the pooled grid; else [1, H, W, C]. Before the output projection.
    /// </summary>
    Tensor HieraAttention(Tensor qkv, int heads, int windowSize, bool poolQuery, Parameter qkvBias);

    /// <summary>2x2 max pooling with stride 2 (floor, as <c>nn.MaxPool2d(2, 2)</c>): x [B, H, W, C] → [B, H/2, W/2, C].</summary>
    Tensor MaxPool2x2(Tensor x);

    /// <summary>
    /// The FPN's top-down step: x [B, H, W, C] plus <paramref name="coarse"/> [B, H/2, W/2, C] upsampled
    /// 2x by nearest neighbour (<c>F.interpolate(scale_factor=2.0, mode="nearest")</c>); H and W even.
    /// </summary>
    Tensor AddUpsampled2x(Tensor x, Tensor coarse);

    // MobileSAM's TinyViT image encoder (ImageEncoderTinyVit).

    /// <summary>
    /// Upstream's <c>Conv2d_BN</c> (a conv without bias, then a BatchNorm2d) in NHWC, then
    /// <paramref name="residual"/> (shaped as the output) and <paramref name="act"/>:
    /// act(bn(conv(x)) + residual). x [B, H, W, Cin], weight [Cout, Cin, kh, kw] → [B, Ho, Wo, Cout].
    /// The norm is folded into the conv's weights and bias in fp32 (upstream's <c>fuse</c>).
    /// </summary>
    Tensor Conv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, int padding, Activation act = Activation.None, Tensor? residual = null);

    /// <summary>
    /// TinyViT's <c>MBConv</c> and <c>PatchMerging</c> (an inverted bottleneck) as one op: x [B, H, W, C] →
    /// act(bn3(conv3(GELU(bnDw(dw(GELU(bn1(conv1(x)))))))) + residual) [B, Ho, Wo, Cout], the 1x1 expand and
    /// project convs and the k x k depthwise one (with the stride) of <paramref name="w"/>. Its wide hidden
    /// tensors are never needed, so a backend may stream them through cache (the CPU does, row by row).
    /// </summary>
    Tensor InvertedBottleneck(Tensor x, InvertedBottleneckWeights w, Activation act = Activation.None, Tensor? residual = null) =>
        ComposedOps.InvertedBottleneck(this, x, w, act, residual);

    /// <summary>
    /// A depthwise <c>Conv2d_BN</c> (groups = channels, padding k/2, no bias) then <paramref name="act"/>:
    /// x [B, H, W, C], weight [C, 1, k, k] → [B, Ho, Wo, C] with Ho = (H - 1) / stride + 1.
    /// </summary>
    Tensor DepthwiseConv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, Activation act = Activation.None);

    /// <summary>
    /// TinyViT's window attention core (<c>Attention</c> in <c>tiny_vit_sam.py</c>) on qkv [1, H, W, heads·3d]
    /// laid out per head as (q, k, v), each d wide (key_dim = d, attn_ratio 1). The grid is padded at the
    /// bottom and right to a multiple of <paramref name="windowSize"/> with tokens whose qkv is
    /// <paramref name="padQkv"/> [heads·3d] (upstream zero-pads the block input before the attention's
    /// LayerNorm, so a padded token's qkv is the projection of the norm's bias); each window attends
    /// within itself, padded keys included: softmax(q kᵀ / √d + B[head, |Δy|·w + |Δx|]) v with
    /// <paramref name="attentionBiases"/> B [heads, w²]. Returns the real tokens [1, H, W, heads·d],
    /// before the output projection.
    /// </summary>
    Tensor TinyVitAttention(Tensor qkv, Tensor padQkv, int heads, int windowSize, Parameter attentionBiases);
}

/// <summary>
/// The convs of <see cref="IBackend.InvertedBottleneck"/>: <paramref name="Expand"/> 1x1, <paramref name="Depthwise"/>
/// k x k at <paramref name="Stride"/>, <paramref name="Project"/> 1x1, each with its BatchNorm
/// (<paramref name="ExpandBn"/>, <paramref name="DepthwiseBn"/>, <paramref name="ProjectBn"/>).
/// </summary>
public sealed record InvertedBottleneckWeights(Parameter Expand, BatchNorm ExpandBn, Parameter Depthwise, BatchNorm DepthwiseBn, int Stride,
    Parameter Project, BatchNorm ProjectBn);

/// <summary>The parameters of SAM's <c>output_upscaling</c>: two 2x2 transposed convs with LayerNorm2d between.</summary>
public sealed record UpscalingWeights(Parameter Conv1Weight, Parameter Conv1Bias, Parameter NormWeight, Parameter NormBias, float NormEps,
    Parameter Conv2Weight, Parameter Conv2Bias);
