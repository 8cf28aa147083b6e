using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// TinyViT's stage-0 block (<c>MBConv</c>, <c>tiny_vit_sam.py</c>): 1x1 expand, 3x3 depthwise, 1x1
/// project, each with its BatchNorm, GELU after the first two; the residual is added before the last
/// GELU. NHWC [1, H, W, C].
/// </summary>
internal sealed class MbConv(WeightScope vb, int dim)
{
    private readonly InvertedBottleneckWeights _weights = ConvBn.Bottleneck(vb, dim, dim * Config.TinyVitArchitecture.MbConvExpandRatio, dim, stride: 1);

    /// <summary>GELU(x + conv3(GELU(conv2(GELU(conv1(x)))))); x is the caller's.</summary>
    public Tensor Forward(IBackend be, Tensor x) => be.InvertedBottleneck(x, _weights, Activation.Gelu, residual: x);
}

/// <summary>
/// TinyViT's <c>PatchMerging</c> between stages: 1x1 conv, GELU, 3x3 depthwise conv with the merge's
/// stride, GELU, 1x1 conv, each with its BatchNorm. NHWC in and out.
/// </summary>
internal sealed class PatchMerging(WeightScope vb, int inDim, int outDim, int stride)
{
    private readonly InvertedBottleneckWeights _weights = ConvBn.Bottleneck(vb, inDim, outDim, outDim, stride);

    /// <summary>The merged tokens; x stays the caller's.</summary>
    public Tensor Forward(IBackend be, Tensor x) => be.InvertedBottleneck(x, _weights);
}
