using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Tests.Modeling;

/// <summary>
/// A backend that hands out its own tensors over an inner backend's and counts those not yet disposed,
/// so that a test can tell which tensors the model left to the GC. Every op, the fused ones included,
/// goes to the inner backend unchanged, so the arithmetic is the inner backend's.
/// <see cref="IBackend.FromParameter"/>'s handles are counted too: the caller disposes them like any tensor.
/// </summary>
internal sealed class TensorTrackingBackend(IBackend inner) : IBackend
{
    private readonly HashSet<Tracked> _live = [];

    /// <summary>Tensors made and not disposed.</summary>
    public int Live
    {
        get { lock (_live) return _live.Count; }
    }

    /// <summary>Whether <paramref name="t"/> (one of this backend's tensors) is still undisposed.</summary>
    public bool IsLive(Tensor t)
    {
        lock (_live) return _live.Contains((Tracked)t);
    }

    public string Name => inner.Name;

    public string Device => inner.Device;

    public SamEngine.Parity.Precision Precision => inner.Precision;

    private sealed class Tracked : Tensor
    {
        private readonly TensorTrackingBackend _owner;

        public Tracked(Tensor inner, TensorTrackingBackend owner) : base(inner.Shape)
        {
            Inner = inner;
            _owner = owner;
            lock (owner._live) owner._live.Add(this);
        }

        public Tensor Inner { get; }

        public override void Dispose()
        {
            lock (_owner._live) _owner._live.Remove(this);
            Inner.Dispose();
            base.Dispose();
        }
    }

    private Tensor Track(Tensor t) => new Tracked(t, this);

    private static Tensor In(Tensor t) => ((Tracked)t).Inner;

    private static Tensor? InOrNull(Tensor? t) => t is null ? null : In(t);

    public Tensor FromHost(ReadOnlySpan<float> data, params int[] shape) => Track(inner.FromHost(data, shape));

    public Tensor FromParameter(Parameter p) => new Tracked(inner.FromParameter(p), owner: this);

    public float[] ToHost(Tensor x) => inner.ToHost(In(x));

    public void ToHost(Tensor x, Span<float> destination) => inner.ToHost(In(x), destination);

    public Tensor Reshape(Tensor x, params int[] shape) => Track(inner.Reshape(In(x), shape));

    public Tensor Linear(Tensor x, Parameter weight, Parameter? bias, Activation act = Activation.None, Tensor? residual = null) =>
        Track(inner.Linear(In(x), weight, bias, act, InOrNull(residual)));

    public Tensor MatMulTransposed(Tensor a, Tensor b) => Track(inner.MatMulTransposed(In(a), In(b)));

    public Tensor Add(Tensor a, Tensor b) => Track(inner.Add(In(a), In(b)));

    public Tensor LayerNorm(Tensor x, Parameter weight, Parameter bias, float eps, Tensor? residual = null) =>
        Track(inner.LayerNorm(In(x), weight, bias, eps, InOrNull(residual)));

    public Tensor Activate(Tensor x, Activation act) => Track(inner.Activate(In(x), act));

    public Tensor Conv2d(Tensor x, Parameter weight, Parameter? bias, int stride, int padding) => Track(inner.Conv2d(In(x), weight, bias, stride, padding));

    public Tensor ConvTranspose2x2(Tensor x, Parameter weight, Parameter bias, ChannelNorm? norm = null, Activation act = Activation.None) =>
        Track(inner.ConvTranspose2x2(In(x), weight, bias, norm, act));

    public Tensor VitAttention(Tensor qkv, int heads, int windowSize, Parameter relPosH, Parameter relPosW, Parameter qkvBias) =>
        Track(inner.VitAttention(In(qkv), heads, windowSize, relPosH, relPosW, qkvBias));

    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads) => Track(inner.Attention(In(q), In(k), In(v), heads));

    public Tensor Transpose(Tensor x) => Track(inner.Transpose(In(x)));

    public Tensor ConcatRows(params Tensor[] parts) => Track(inner.ConcatRows(parts.Select(In).ToArray()));

    public Tensor SliceRows(Tensor x, int start, int count) => Track(inner.SliceRows(In(x), start, count));

    public Tensor DensePositionalEncoding(Parameter gaussian, int grid) => Track(inner.DensePositionalEncoding(gaussian, grid));

    public Tensor ImageToTokenAttention(Tensor image, Parameter? qWeight, Parameter? qBias, Tensor k, Tensor v, int heads, Parameter outWeight, Parameter outBias) =>
        Track(inner.ImageToTokenAttention(In(image), qWeight, qBias, In(k), In(v), heads, outWeight, outBias));

    public Tensor TokenToImageAttention(Tensor q, Tensor keys, Parameter? kWeight, Parameter? kBias, Tensor values, Parameter? vWeight, Parameter? vBias, int heads) =>
        Track(inner.TokenToImageAttention(In(q), In(keys), kWeight, kBias, In(values), vWeight, vBias, heads));

    public Tensor UpscaledMaskLogits(Tensor x, UpscalingWeights weights, Tensor hyper, Tensor? featS1 = null, Tensor? featS0 = null) =>
        Track(inner.UpscaledMaskLogits(In(x), weights, In(hyper), featS1 is null ? null : In(featS1), featS0 is null ? null : In(featS0)));

    public Tensor HieraAttention(Tensor qkv, int heads, int windowSize, bool poolQuery, Parameter qkvBias) =>
        Track(inner.HieraAttention(In(qkv), heads, windowSize, poolQuery, qkvBias));

    public Tensor Conv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, int padding, Activation act = Activation.None, Tensor? residual = null) =>
        Track(inner.Conv2dBn(In(x), weight, bn, stride, padding, act, residual is null ? null : In(residual)));

    public Tensor InvertedBottleneck(Tensor x, InvertedBottleneckWeights w, Activation act = Activation.None, Tensor? residual = null) =>
        Track(inner.InvertedBottleneck(In(x), w, act, residual is null ? null : In(residual)));

    public Tensor DepthwiseConv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, Activation act = Activation.None) =>
        Track(inner.DepthwiseConv2dBn(In(x), weight, bn, stride, act));

    public Tensor TinyVitAttention(Tensor qkv, Tensor padQkv, int heads, int windowSize, Parameter attentionBiases) =>
        Track(inner.TinyVitAttention(In(qkv), In(padQkv), heads, windowSize, attentionBiases));

    public Tensor MaxPool2x2(Tensor x) => Track(inner.MaxPool2x2(In(x)));

    public Tensor AddUpsampled2x(Tensor x, Tensor coarse) => Track(inner.AddUpsampled2x(In(x), In(coarse)));

    public void Dispose() => inner.Dispose();
}
