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
    private readonly ConvBn _conv1 = new(vb.Push("conv1"), dim, dim * Config.TinyVitArchitecture.MbConvExpandRatio, 1);
    private readonly ConvBn _conv2 = new(vb.Push("conv2"), 0, dim * Config.TinyVitArchitecture.MbConvExpandRatio, 3, depthwise: true);
    private readonly ConvBn _conv3 = new(vb.Push("conv3"), dim * Config.TinyVitArchitecture.MbConvExpandRatio, dim, 1);

    /// <summary>GELU(x + conv3(GELU(conv2(GELU(conv1(x)))))); the hidden activations are disposed here, x is the caller's.</summary>
    public Tensor Forward(IBackend be, Tensor x)
    {
        Tensor h;
        using (var expanded = _conv1.Forward(be, x, Activation.Gelu)) h = _conv2.Forward(be, expanded, Activation.Gelu);
        using (h) return _conv3.Forward(be, h, Activation.Gelu, residual: x);
    }
}

/// <summary>
/// TinyViT's <c>PatchMerging</c> between stages: 1x1 conv, GELU, 3x3 depthwise conv with the merge's
/// stride, GELU, 1x1 conv, each with its BatchNorm. NHWC in and out.
/// </summary>
internal sealed class PatchMerging(WeightScope vb, int inDim, int outDim, int stride)
{
    private readonly ConvBn _conv1 = new(vb.Push("conv1"), inDim, outDim, 1);
    private readonly ConvBn _conv2 = new(vb.Push("conv2"), 0, outDim, 3, stride, depthwise: true);
    private readonly ConvBn _conv3 = new(vb.Push("conv3"), outDim, outDim, 1);

    /// <summary>The merged tokens; x stays the caller's.</summary>
    public Tensor Forward(IBackend be, Tensor x)
    {
        Tensor h;
        using (var wide = _conv1.Forward(be, x, Activation.Gelu)) h = _conv2.Forward(be, wide, Activation.Gelu);
        using (h) return _conv3.Forward(be, h);
    }
}
