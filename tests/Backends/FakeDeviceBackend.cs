using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends;

/// <summary>
/// A stand-in for a GPU backend in the self-check tests: the cpu backend's ops, with every <c>Add</c>
/// result scaled by <c>1 + error</c> (a device that computes wrong numbers), or throwing in attention
/// (a device whose kernels fail).
/// </summary>
internal sealed class FakeDeviceBackend(float error = 0, bool throwInAttention = false) : IBackend
{
    private readonly CpuBackend _cpu = new();

    public bool Disposed { get; private set; }

    public string Name => "fake";

    public string Device => "fake device";

    public Tensor FromHost(ReadOnlySpan<float> data, params int[] shape) => _cpu.FromHost(data, shape);

    public Tensor FromParameter(Parameter p) => _cpu.FromParameter(p);

    public float[] ToHost(Tensor x) => _cpu.ToHost(x);

    public Tensor Reshape(Tensor x, params int[] shape) => _cpu.Reshape(x, shape);

    public Tensor Linear(Tensor x, Parameter weight, Parameter? bias, Activation act = Activation.None, Tensor? residual = null) =>
        _cpu.Linear(x, weight, bias, act, residual);

    public Tensor MatMulTransposed(Tensor a, Tensor b) => _cpu.MatMulTransposed(a, b);

    public Tensor Add(Tensor a, Tensor b)
    {
        var y = _cpu.Add(a, b);
        if (error == 0) return y;
        var values = _cpu.ToHost(y);
        for (int i = 0; i < values.Length; i++) values[i] *= 1 + error;
        y.Dispose();
        return _cpu.FromHost(values, a.Shape);
    }

    public Tensor LayerNorm(Tensor x, Parameter weight, Parameter bias, float eps, Tensor? residual = null) => _cpu.LayerNorm(x, weight, bias, eps, residual);

    public Tensor Activate(Tensor x, Activation act) => _cpu.Activate(x, act);

    public Tensor Conv2d(Tensor x, Parameter weight, Parameter? bias, int stride, int padding) => _cpu.Conv2d(x, weight, bias, stride, padding);

    public Tensor ConvTranspose2x2(Tensor x, Parameter weight, Parameter bias, ChannelNorm? norm = null, Activation act = Activation.None) =>
        _cpu.ConvTranspose2x2(x, weight, bias, norm, act);

    public Tensor VitAttention(Tensor qkv, int heads, int windowSize, Parameter relPosH, Parameter relPosW, Parameter qkvBias) =>
        throwInAttention ? throw new InvalidOperationException("kernel launch failed (fake)") : _cpu.VitAttention(qkv, heads, windowSize, relPosH, relPosW, qkvBias);

    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads) => _cpu.Attention(q, k, v, heads);

    public Tensor Transpose(Tensor x) => _cpu.Transpose(x);

    public Tensor ConcatRows(params Tensor[] parts) => _cpu.ConcatRows(parts);

    public Tensor SliceRows(Tensor x, int start, int count) => _cpu.SliceRows(x, start, count);

    public Tensor HieraAttention(Tensor qkv, int heads, int windowSize, bool poolQuery, Parameter qkvBias) =>
        _cpu.HieraAttention(qkv, heads, windowSize, poolQuery, qkvBias);

    public Tensor MaxPool2x2(Tensor x) => _cpu.MaxPool2x2(x);

    public Tensor AddUpsampled2x(Tensor x, Tensor coarse) => _cpu.AddUpsampled2x(x, coarse);

    public void Dispose()
    {
        Disposed = true;
        _cpu.Dispose();
    }
}
