using System.Diagnostics;
using SamEngine.Weights;

namespace SamEngine.Backends;

/// <summary>
/// Wraps a backend and times every op by name and output shape, to find where a forward pass spends
/// its time (<c>samengine bench --profile</c>). Times are wall time around each call, so they are
/// exact for synchronous backends (cpu) and include queueing for asynchronous ones.
/// </summary>
public sealed class ProfilingBackend(IBackend inner) : IBackend
{
    private readonly Dictionary<string, (int Calls, double Ms)> _ops = new();

    /// <summary>The wrapped backend.</summary>
    public IBackend Inner => inner;

    /// <inheritdoc />
    public string Name => inner.Name;

    /// <inheritdoc />
    public string Device => inner.Device;

    /// <inheritdoc />
    public Parity.Precision Precision => inner.Precision;

    /// <summary>Per op and output shape: calls and total milliseconds, slowest first.</summary>
    public IReadOnlyList<(string Op, int Calls, double Ms)> Report() =>
        _ops.Select(kv => (kv.Key, kv.Value.Calls, kv.Value.Ms)).OrderByDescending(r => r.Ms).ToArray();

    /// <summary>Forgets what was timed so far.</summary>
    public void Reset() => _ops.Clear();

    private Tensor Time(string op, Func<Tensor> run)
    {
        long start = Stopwatch.GetTimestamp();
        var y = run();
        Record($"{op} -> {y}", start);
        return y;
    }

    private void Record(string key, long start)
    {
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        _ops[key] = _ops.TryGetValue(key, out var t) ? (t.Calls + 1, t.Ms + ms) : (1, ms);
    }

    /// <summary>Forwards to the wrapped backend; the wait is timed as an op of its own (queued device work lands there).</summary>
    public void Synchronize()
    {
        long start = Stopwatch.GetTimestamp();
        inner.Synchronize();
        Record(nameof(Synchronize), start);
    }

    /// <inheritdoc />
    public Tensor FromHost(ReadOnlySpan<float> data, params int[] shape)
    {
        var copy = data.ToArray();
        return Time(nameof(FromHost), () => inner.FromHost(copy, shape));
    }

    /// <inheritdoc />
    public Tensor FromParameter(Parameter p) => Time(nameof(FromParameter), () => inner.FromParameter(p));

    /// <inheritdoc />
    public float[] ToHost(Tensor x)
    {
        long start = Stopwatch.GetTimestamp();
        var y = inner.ToHost(x);
        Record($"{nameof(ToHost)} -> {x}", start);
        return y;
    }

    /// <inheritdoc />
    public void ToHost(Tensor x, Span<float> destination)
    {
        long start = Stopwatch.GetTimestamp();
        inner.ToHost(x, destination);
        Record($"{nameof(ToHost)} -> {x}", start);
    }

    /// <inheritdoc />
    public Tensor Reshape(Tensor x, params int[] shape) => inner.Reshape(x, shape);

    /// <inheritdoc />
    public Tensor Linear(Tensor x, Parameter weight, Parameter? bias, Activation act = Activation.None, Tensor? residual = null) =>
        Time($"{nameof(Linear)}({act}{(residual is null ? "" : ", residual")})", () => inner.Linear(x, weight, bias, act, residual));

    /// <inheritdoc />
    public Tensor MatMulTransposed(Tensor a, Tensor b) => Time(nameof(MatMulTransposed), () => inner.MatMulTransposed(a, b));

    /// <inheritdoc />
    public Tensor Add(Tensor a, Tensor b) => Time(nameof(Add), () => inner.Add(a, b));

    /// <inheritdoc />
    public Tensor LayerNorm(Tensor x, Parameter weight, Parameter bias, float eps, Tensor? residual = null) =>
        Time(residual is null ? nameof(LayerNorm) : "LayerNorm(residual)", () => inner.LayerNorm(x, weight, bias, eps, residual));

    /// <inheritdoc />
    public Tensor Activate(Tensor x, Activation act) => Time($"{nameof(Activate)}({act})", () => inner.Activate(x, act));

    /// <inheritdoc />
    public Tensor Conv2d(Tensor x, Parameter weight, Parameter? bias, int stride, int padding) =>
        Time(nameof(Conv2d), () => inner.Conv2d(x, weight, bias, stride, padding));

    /// <inheritdoc />
    public Tensor ConvTranspose2x2(Tensor x, Parameter weight, Parameter bias, ChannelNorm? norm = null, Activation act = Activation.None) =>
        Time(nameof(ConvTranspose2x2), () => inner.ConvTranspose2x2(x, weight, bias, norm, act));

    /// <inheritdoc />
    public Tensor DensePositionalEncoding(Parameter gaussian, int grid) => Time(nameof(DensePositionalEncoding), () => inner.DensePositionalEncoding(gaussian, grid));

    /// <inheritdoc />
    public Tensor VitAttention(Tensor qkv, int heads, int windowSize, Parameter relPosH, Parameter relPosW, Parameter qkvBias) =>
        Time($"{nameof(VitAttention)}(window {windowSize})", () => inner.VitAttention(qkv, heads, windowSize, relPosH, relPosW, qkvBias));

    /// <inheritdoc />
    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads) => Time($"{nameof(Attention)}(q {q.Dim(1)}, k {k.Dim(1)})", () => inner.Attention(q, k, v, heads));

    /// <inheritdoc />
    public Tensor Transpose(Tensor x) => Time(nameof(Transpose), () => inner.Transpose(x));

    /// <inheritdoc />
    public Tensor ConcatRows(params Tensor[] parts) => Time(nameof(ConcatRows), () => inner.ConcatRows(parts));

    /// <inheritdoc />
    public Tensor SliceRows(Tensor x, int start, int count) => Time(nameof(SliceRows), () => inner.SliceRows(x, start, count));

    /// <inheritdoc />
    public Tensor ImageToTokenAttention(Tensor image, Parameter? qWeight, Parameter? qBias, Tensor k, Tensor v, int heads, Parameter outWeight, Parameter outBias) =>
        Time(nameof(ImageToTokenAttention), () => inner.ImageToTokenAttention(image, qWeight, qBias, k, v, heads, outWeight, outBias));

    /// <inheritdoc />
    public Tensor TokenToImageAttention(Tensor q, Tensor keys, Parameter? kWeight, Parameter? kBias, Tensor values, Parameter? vWeight, Parameter? vBias, int heads) =>
        Time(nameof(TokenToImageAttention), () => inner.TokenToImageAttention(q, keys, kWeight, kBias, values, vWeight, vBias, heads));

    /// <inheritdoc />
    public Tensor UpscaledMaskLogits(Tensor x, UpscalingWeights weights, Tensor hyper, Tensor? featS1 = null, Tensor? featS0 = null) =>
        Time(nameof(UpscaledMaskLogits), () => inner.UpscaledMaskLogits(x, weights, hyper, featS1, featS0));

    /// <inheritdoc />
    public Tensor HieraAttention(Tensor qkv, int heads, int windowSize, bool poolQuery, Parameter qkvBias) =>
        Time($"{nameof(HieraAttention)}(window {windowSize}{(poolQuery ? ", pooled" : "")})", () => inner.HieraAttention(qkv, heads, windowSize, poolQuery, qkvBias));

    /// <inheritdoc />
    public Tensor MaxPool2x2(Tensor x) => Time(nameof(MaxPool2x2), () => inner.MaxPool2x2(x));

    /// <inheritdoc />
    public Tensor AddUpsampled2x(Tensor x, Tensor coarse) => Time(nameof(AddUpsampled2x), () => inner.AddUpsampled2x(x, coarse));

    /// <inheritdoc />
    public Tensor Conv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, int padding, Activation act = Activation.None, Tensor? residual = null) =>
        Time($"{nameof(Conv2dBn)}({weight.Shape[2]}x{weight.Shape[3]})", () => inner.Conv2dBn(x, weight, bn, stride, padding, act, residual));

    /// <inheritdoc />
    public Tensor InvertedBottleneck(Tensor x, InvertedBottleneckWeights w, Activation act = Activation.None, Tensor? residual = null) =>
        Time($"{nameof(InvertedBottleneck)}(stride {w.Stride})", () => inner.InvertedBottleneck(x, w, act, residual));

    /// <inheritdoc />
    public Tensor DepthwiseConv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, Activation act = Activation.None) =>
        Time(nameof(DepthwiseConv2dBn), () => inner.DepthwiseConv2dBn(x, weight, bn, stride, act));

    /// <inheritdoc />
    public Tensor TinyVitAttention(Tensor qkv, Tensor padQkv, int heads, int windowSize, Parameter attentionBiases) =>
        Time($"{nameof(TinyVitAttention)}(window {windowSize})", () => inner.TinyVitAttention(qkv, padQkv, heads, windowSize, attentionBiases));

    /// <inheritdoc />
    public void Dispose() => inner.Dispose();
}
