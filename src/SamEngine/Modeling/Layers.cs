using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>nn.Linear: <c>weight</c> [out, in] and <c>bias</c> [out].</summary>
internal sealed class Linear(WeightScope vb, int inDim, int outDim, bool bias = true)
{
    public Parameter Weight { get; } = vb.Get("weight", outDim, inDim);
    public Parameter? Bias { get; } = bias ? vb.Get("bias", outDim) : null;

    public Tensor Forward(IBackend be, Tensor x, Activation act = Activation.None, Tensor? residual = null) => be.Linear(x, Weight, Bias, act, residual);
}

/// <summary>nn.LayerNorm over the last dimension (and LayerNorm2d, which normalises channels: the last dimension in NHWC).</summary>
internal sealed class LayerNorm(WeightScope vb, int dim, float eps)
{
    public Parameter Weight { get; } = vb.Get("weight", dim);
    public Parameter Bias { get; } = vb.Get("bias", dim);

    /// <summary>norm(x), or norm(x + residual) in one pass.</summary>
    public Tensor Forward(IBackend be, Tensor x, Tensor? residual = null) => be.LayerNorm(x, Weight, Bias, eps, residual);
}

/// <summary>
/// The decoder's MLP (<c>layers.{i}</c>): Linear layers with ReLU between them, none after the last.
/// </summary>
internal sealed class Mlp
{
    private readonly Linear[] _layers;

    public Mlp(WeightScope vb, int inDim, int hiddenDim, int outDim, int numLayers)
    {
        var scope = vb.Push("layers");
        _layers = new Linear[numLayers];
        for (int i = 0; i < numLayers; i++)
        {
            int din = i == 0 ? inDim : hiddenDim, dout = i == numLayers - 1 ? outDim : hiddenDim;
            _layers[i] = new Linear(scope.Push(i), din, dout);
        }
    }

    /// <summary>The MLP of <paramref name="x"/> (left to the caller); the hidden activations are disposed here.</summary>
    public Tensor Forward(IBackend be, Tensor x)
    {
        var y = x;
        for (int i = 0; i < _layers.Length; i++)
        {
            var next = _layers[i].Forward(be, y, i < _layers.Length - 1 ? Activation.Relu : Activation.None);
            if (i > 0) y.Dispose();
            y = next;
        }
        return y;
    }
}

/// <summary>
/// Upstream's <c>Conv2d_BN</c> (<c>c</c>: a conv without bias, <c>bn</c>: BatchNorm2d, eps 1e-5): a full
/// conv, or a depthwise one (weight [C, 1, k, k]); padding k/2.
/// </summary>
internal sealed class ConvBn
{
    private const float Eps = 1e-5f;
    private readonly Parameter _weight;
    private readonly BatchNorm _bn;
    private readonly int _stride, _padding;
    private readonly bool _depthwise;

    public ConvBn(WeightScope vb, int inDim, int outDim, int kernel, int stride = 1, bool depthwise = false)
    {
        _weight = vb.Get("c.weight", outDim, depthwise ? 1 : inDim, kernel, kernel);
        var bn = vb.Push("bn");
        _bn = new BatchNorm(bn.Get("weight", outDim), bn.Get("bias", outDim), bn.Get("running_mean", outDim), bn.Get("running_var", outDim), Eps);
        (_stride, _padding, _depthwise) = (stride, kernel / 2, depthwise);
    }

    /// <summary>act(bn(conv(x)) + residual).</summary>
    public Tensor Forward(IBackend be, Tensor x, Activation act = Activation.None, Tensor? residual = null) =>
        _depthwise ? be.DepthwiseConv2dBn(x, _weight, _bn, _stride, act) : be.Conv2dBn(x, _weight, _bn, _stride, _padding, act, residual);

    /// <summary>
    /// The weights of an inverted bottleneck under <paramref name="vb"/> (upstream's <c>conv1</c> 1x1 in → hidden,
    /// <c>conv2</c> 3x3 depthwise at <paramref name="stride"/>, <c>conv3</c> 1x1 hidden → out, each a <c>Conv2d_BN</c>).
    /// </summary>
    public static InvertedBottleneckWeights Bottleneck(WeightScope vb, int inDim, int hidden, int outDim, int stride)
    {
        var expand = new ConvBn(vb.Push("conv1"), inDim, hidden, 1);
        var depthwise = new ConvBn(vb.Push("conv2"), 0, hidden, 3, stride, depthwise: true);
        var project = new ConvBn(vb.Push("conv3"), hidden, outDim, 1);
        return new(expand._weight, expand._bn, depthwise._weight, depthwise._bn, stride, project._weight, project._bn);
    }
}
