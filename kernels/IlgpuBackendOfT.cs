using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using SamEngine.Backends;
using SamEngine.Parity;
using SamEngine.Weights;

namespace SamEngine.Kernels;

/// <summary>
/// The ILGPU backend: every <see cref="IBackend"/> op as a hand-written kernel. Weights are uploaded
/// once as fp16 bits and widened inside the kernels; activations are device buffers in the format
/// <typeparamref name="TAct"/> (float32 or fp16), taken from a pool, and stay on the device until
/// <see cref="ToHost"/>. Compute and accumulation are float32 in both formats.
/// </summary>
public sealed class IlgpuBackend<TAct> : IIlgpuBackend where TAct : struct, IActivations<TAct>
{
    private readonly Context _context;
    private readonly DeviceBufferPool _pool;
    private readonly ConditionalWeakTable<Parameter, MemoryBuffer1D<ushort, Stride1D.Dense>> _weights = new();
    private readonly ConditionalWeakTable<Parameter, DeviceTensor> _widened = new();
    private readonly List<MemoryBuffer1D<ushort, Stride1D.Dense>> _uploads = new();
    private readonly MemoryBuffer1D<ushort, Stride1D.Dense> _none;
    private int _widenedCount; // tensors cached by FromParameter: alive as long as their parameter
    private bool _disposed;

    internal IlgpuBackend(Context context, Accelerator accelerator, string name)
    {
        _context = context;
        Accelerator = accelerator;
        Name = name;
        _pool = new DeviceBufferPool(accelerator);
        _none = accelerator.Allocate1D<ushort>(1);
        Gemm = new GemmLauncher<TAct>(accelerator);
        Elementwise = new ElementwiseLauncher<TAct>(accelerator);
        Norm = new LayerNormLauncher<TAct>(accelerator);
        Conv = new ConvLauncher<TAct>(accelerator);
        Attn = new AttentionLauncher<TAct>(accelerator);
        PositionalEncoding = new PositionalEncodingLauncher<TAct>(accelerator);
        Postprocess = new PostprocessLauncher<TAct>(accelerator);
        TinyVit = new TinyVitLauncher<TAct>(accelerator);
    }

    /// <inheritdoc />
    public Accelerator Accelerator { get; }

    /// <summary>Kernel launchers, for the benchmarks and for host-side callers of the extra kernels.</summary>
    public GemmLauncher<TAct> Gemm { get; }
    /// <inheritdoc cref="Gemm" />
    public ElementwiseLauncher<TAct> Elementwise { get; }
    /// <inheritdoc cref="Gemm" />
    public LayerNormLauncher<TAct> Norm { get; }
    /// <inheritdoc cref="Gemm" />
    public ConvLauncher<TAct> Conv { get; }
    /// <inheritdoc cref="Gemm" />
    public AttentionLauncher<TAct> Attn { get; }
    /// <inheritdoc cref="Gemm" />
    public PositionalEncodingLauncher<TAct> PositionalEncoding { get; }
    /// <inheritdoc cref="Gemm" />
    public PostprocessLauncher<TAct> Postprocess { get; }
    /// <inheritdoc cref="Gemm" />
    public TinyVitLauncher<TAct> TinyVit { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Device => $"{Accelerator.Name} ({Accelerator.AcceleratorType}, {Accelerator.MemorySize / (1 << 20)} MiB, {Precision} activations)";

    /// <inheritdoc />
    public Precision Precision => TAct.BytesPerElement == 2 ? Precision.Fp16 : Precision.Fp32;

    /// <inheritdoc />
    public bool LayerNormRowPerThread { get => Norm.RowPerThread; set => Norm.RowPerThread = value; }

    /// <summary>A pooled device tensor of the given shape (contents undefined).</summary>
    public DeviceTensor Allocate(params int[] shape)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new(_pool.Rent(ShapeUtil.Count(shape) * TAct.BytesPerElement), shape, TAct.BytesPerElement);
    }

    /// <summary>
    /// Device tensors handed out by ops and not yet disposed (reshapes of one count once), parameter
    /// copies cached by <see cref="FromParameter"/> left out: a forward pass whose result is disposed
    /// leaves this where it found it, unless it drops an intermediate for the GC.
    /// </summary>
    internal int LiveTensorCount => _pool.LiveStorages - Volatile.Read(ref _widenedCount);

    /// <summary>The tensor's elements as the kernels see them.</summary>
    public static TAct Act(Tensor t) => TAct.Over(Dev(t).Raw, t.Length);

    /// <summary>The parameter's fp16 bits on the device, uploaded on first use.</summary>
    public ArrayView<ushort> Weights(Parameter p) => _weights.GetValue(Live(p), q =>
    {
        var buf = Accelerator.Allocate1D<ushort>(q.Length);
        buf.View.AsContiguous().CopyFromCPU(q.HalfBits);
        lock (_uploads) _uploads.Add(buf);
        return buf;
    }).View;

    private ArrayView<ushort> OptionalWeights(Parameter? p) => p is null ? _none.View : Weights(p);

    /// <summary><paramref name="p"/>, unless this backend is disposed (its cached uploads are freed).</summary>
    private Parameter Live(Parameter p)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return p;
    }

    private static DeviceTensor Dev(Tensor t) =>
        t is DeviceTensor d && d.BytesPerElement == TAct.BytesPerElement ? d : throw new ArgumentException($"{t} does not belong to an ILGPU backend of this precision");

    /// <inheritdoc />
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Accelerator.Synchronize();
    }

    /// <inheritdoc />
    public Tensor FromHost(ReadOnlySpan<float> data, params int[] shape)
    {
        OpShapes.FromHost(data.Length, shape);
        var t = Allocate(shape);
        TAct.Upload(data, t.Raw);
        return t;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Each call gets a view of its own of the cached tensor: disposing it (as a caller may) leaves
    /// the cache's storage alive, so the pool never lends it out while the cache still serves it.
    /// </remarks>
    public Tensor FromParameter(Parameter p) => _widened.GetValue(Live(p), q =>
    {
        var t = Allocate(q.Shape);
        Elementwise.Widen(Weights(q), Act(t));
        Interlocked.Increment(ref _widenedCount);
        return t;
    }).Reshaped(p.Shape);

    /// <inheritdoc />
    public float[] ToHost(Tensor x)
    {
        var r = new float[x.Length];
        var raw = Dev(x).Raw;
        Synchronize();
        TAct.Download(raw, r);
        return r;
    }

    /// <inheritdoc />
    public Tensor Reshape(Tensor x, params int[] shape)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        OpShapes.Reshape(x, shape);
        return Dev(x).Reshaped(shape);
    }

    /// <inheritdoc />
    public Tensor Linear(Tensor x, Parameter weight, Parameter? bias, Activation act = Activation.None, Tensor? residual = null)
    {
        var (shape, m, n, k) = OpShapes.Linear(x, weight, bias, act, residual);
        var y = Allocate(shape);
        Gemm.Linear(Act(x), m, Weights(weight), n, k, OptionalWeights(bias), bias is not null, (int)act, residual is null ? null : Act(residual), Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor MatMulTransposed(Tensor a, Tensor b)
    {
        var (batch, m, n, k) = OpShapes.MatMulTransposed(a, b);
        var y = Allocate(batch, m, n);
        Gemm.MatMulTransposed(Act(a), Act(b), batch, m, n, k, _none.View, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor Add(Tensor a, Tensor b)
    {
        OpShapes.Add(a, b);
        var y = Allocate(a.Shape);
        Elementwise.AddBroadcast(Act(a), Act(b), a.Length, b.Length, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor LayerNorm(Tensor x, Parameter weight, Parameter bias, float eps, Tensor? residual = null)
    {
        int c = OpShapes.LayerNorm(x, weight, bias, eps, residual);
        // The residual add stays a pass of its own on the device (not fused into the norm kernel).
        using var sum = residual is null ? null : Add(x, residual);
        var y = Allocate(x.Shape);
        Norm.LayerNorm(Act(sum ?? x), x.Length / c, c, Weights(weight), Weights(bias), eps, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor Activate(Tensor x, Activation act)
    {
        OpShapes.Activate(x, act);
        var y = Allocate(x.Shape);
        Elementwise.Activate(Act(x), x.Length, Act(y), (int)act);
        return y;
    }

    /// <inheritdoc />
    public Tensor Conv2d(Tensor x, Parameter weight, Parameter? bias, int stride, int padding)
    {
        var (b, h, w, cin, cout, kh, kw, ho, wo) = OpShapes.Conv2d(x, weight, bias, stride, padding);
        var y = Allocate(b, ho, wo, cout);
        var patches = new ImplicitPatches<TAct> { Image = Act(x), H = h, W = w, Cin = cin, KernelW = kw, Stride = stride, Padding = padding, OutH = ho, OutW = wo };
        var wt = new HalfConvWeight { Bits = Weights(weight), Cin = cin, KernelH = kh, KernelW = kw };
        Gemm.Conv2d(patches, b * ho * wo, wt, cout, OptionalWeights(bias), bias is not null, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor ConvTranspose2x2(Tensor x, Parameter weight, Parameter bias, ChannelNorm? norm = null, Activation act = Activation.None)
    {
        var (b, h, w, cin, cout) = OpShapes.ConvTranspose2x2(x, weight, bias, norm, act);
        var y = Allocate(b, 2 * h, 2 * w, cout);
        var s = new ConvTransposeShape { H = h, W = w, Cin = cin, Cout = cout, Activation = (int)act, Eps = norm?.Eps ?? 0f };
        ConvTranspose(x, b, s, weight, bias, norm, skip: null, y);
        return y;
    }

    /// <summary>The transposed-conv kernel the epilogue needs; a <paramref name="skip"/> [1, 2H, 2W, Cout] is added before it.</summary>
    private void ConvTranspose(Tensor x, int batch, ConvTransposeShape s, Parameter weight, Parameter bias, ChannelNorm? norm, Tensor? skip, Tensor y)
    {
        s.SkipLength = skip?.Length ?? 0;
        var skipView = Act(skip ?? x); // not read without a skip
        if (norm is null) Conv.ConvTranspose2x2(Act(x), batch, s, Weights(weight), Weights(bias), skipView, Act(y));
        else Conv.ConvTranspose2x2Norm(Act(x), batch, s, Weights(weight), Weights(bias), Weights(norm.Weight), Weights(norm.Bias), skipView, Act(y));
    }

    /// <inheritdoc />
    /// <remarks>
    /// The two upscaling steps are the fused transposed-conv kernels (SAM 2.1's skip, LayerNorm2d and GELU in the first
    /// one's epilogue, the skip and GELU in the second's), then one batched GEMM.
    /// </remarks>
    public Tensor UpscaledMaskLogits(Tensor x, UpscalingWeights w, Tensor hyper, Tensor? featS1 = null, Tensor? featS0 = null)
    {
        var (b, g, d, c1, c, _) = OpShapes.UpscaledMaskLogits(x, w, hyper, featS1, featS0);
        using var up0 = Allocate(b, 2 * g, 2 * g, c1);
        ConvTranspose(x, b, new ConvTransposeShape { H = g, W = g, Cin = d, Cout = c1, Activation = (int)Activation.Gelu, Eps = w.NormEps },
            w.Conv1Weight, w.Conv1Bias, new ChannelNorm(w.NormWeight, w.NormBias, w.NormEps), featS1, up0);
        using var up1 = Allocate(b, 4 * g, 4 * g, c);
        ConvTranspose(up0, b, new ConvTransposeShape { H = 2 * g, W = 2 * g, Cin = c1, Cout = c, Activation = (int)Activation.Gelu },
            w.Conv2Weight, w.Conv2Bias, norm: null, featS0, up1);
        using var rows = Reshape(up1, b, 16 * g * g, c);
        return MatMulTransposed(hyper, rows);
    }

    /// <inheritdoc />
    public Tensor VitAttention(Tensor qkv, int heads, int windowSize, Parameter relPosH, Parameter relPosW, Parameter qkvBias)
    {
        var (h, w, c, _, _, _) = OpShapes.VitAttention(qkv, heads, windowSize, relPosH, relPosW, qkvBias);
        var y = Allocate(1, h, w, c);
        Attn.Vit(Act(qkv), h, w, c, heads, windowSize, Weights(qkvBias), Weights(relPosH), Weights(relPosW), Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor HieraAttention(Tensor qkv, int heads, int windowSize, bool poolQuery, Parameter qkvBias)
    {
        var g = OpShapes.HieraAttention(qkv, heads, windowSize, poolQuery, qkvBias);
        var y = Allocate(1, g.OutH, g.OutW, g.C);
        Attn.Hiera(Act(qkv), g, heads, poolQuery, Weights(qkvBias), Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor MaxPool2x2(Tensor x)
    {
        var shape = OpShapes.MaxPool2x2(x);
        var y = Allocate(shape);
        Elementwise.MaxPool2x2(Act(x), x.Dim(0), new GridShape { H = x.Dim(1), W = x.Dim(2), C = x.Dim(3) }, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor AddUpsampled2x(Tensor x, Tensor coarse)
    {
        var (b, h, w, c) = OpShapes.AddUpsampled2x(x, coarse);
        var y = Allocate(b, h, w, c);
        Elementwise.AddUpsampled2x(Act(x), Act(coarse), b, new GridShape { H = h, W = w, C = c }, Act(y));
        return y;
    }

    private BatchNormViews Views(BatchNorm bn) =>
        new() { Gamma = Weights(bn.Weight), Beta = Weights(bn.Bias), Mean = Weights(bn.RunningMean), Var = Weights(bn.RunningVar), Eps = bn.Eps };

    /// <inheritdoc />
    /// <remarks>The implicit-GEMM conv without bias, then the norm, residual and activation in one elementwise pass.</remarks>
    public Tensor Conv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, int padding, Activation act = Activation.None, Tensor? residual = null)
    {
        var g = OpShapes.Conv2dBn(x, weight, bn, stride, padding, act, residual);
        using var conv = Conv2d(x, weight, null, stride, padding);
        var y = Allocate(conv.Shape);
        TinyVit.BatchNormEpilogue(Act(conv), conv.Length, g.Cout, Views(bn), Act(residual ?? conv), residual is not null, (int)act, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor DepthwiseConv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, Activation act = Activation.None)
    {
        var (b, h, w, c, k, ho, wo) = OpShapes.DepthwiseConv2dBn(x, weight, bn, stride, act);
        var y = Allocate(b, ho, wo, c);
        TinyVit.Depthwise(Act(x), b, Weights(weight), Views(bn),
            new DepthwiseShape { H = h, W = w, C = c, Kernel = k, Stride = stride, OutH = ho, OutW = wo, Activation = (int)act }, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor TinyVitAttention(Tensor qkv, Tensor padQkv, int heads, int windowSize, Parameter attentionBiases)
    {
        var (h, w, d, _, _) = OpShapes.TinyVitAttention(qkv, padQkv, heads, windowSize, attentionBiases);
        var y = Allocate(1, h, w, heads * d);
        TinyVit.WindowAttention(Act(qkv), Act(padQkv), Weights(attentionBiases),
            new WindowAttentionShape { H = h, W = w, Heads = heads, HeadDim = d, Window = windowSize, Scale = 1f / MathF.Sqrt(d) }, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads)
    {
        var (b, nq, nk, c, _) = OpShapes.Attention(q, k, v, heads);
        var y = Allocate(b, nq, c);
        Attn.Rows(Act(q), Act(k), Act(v), b, nq, nk, c, heads, _none.View, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor Transpose(Tensor x)
    {
        var (batch, m, n) = OpShapes.Transpose(x);
        var y = Allocate(batch, n, m);
        Elementwise.Transpose(Act(x), x.Length, Act(y), m, n);
        return y;
    }

    /// <inheritdoc />
    public Tensor SliceRows(Tensor x, int start, int count)
    {
        var (shape, batch, rows, c) = OpShapes.SliceRows(x, start, count);
        var y = Allocate(shape);
        Elementwise.Copy(Act(x), Act(y), batch, new BlockCopy { Length = count * c, SrcOffset = start * c, SrcStride = rows * c, DstStride = count * c });
        return y;
    }

    /// <inheritdoc />
    public Tensor ConcatRows(params Tensor[] parts)
    {
        var (batch, rows, c) = OpShapes.ConcatRows(parts);
        var y = Allocate(batch, rows, c);
        int row = 0;
        foreach (var p in parts)
        {
            int n = p.Dim(1) * c;
            Elementwise.Copy(Act(p), Act(y), batch, new BlockCopy { Length = n, SrcStride = n, DstOffset = row * c, DstStride = rows * c });
            row += p.Dim(1);
        }
        return y;
    }

    /// <inheritdoc />
    public Tensor DensePositionalEncoding(Parameter gaussian, int grid)
    {
        var (_, d) = OpShapes.DensePositionalEncoding(gaussian, grid);
        var y = Allocate(grid * grid, d);
        PositionalEncoding.DenseGrid(Weights(gaussian), grid, d, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor PointPositionalEncoding(Tensor coords, Parameter gaussian)
    {
        int n = coords.Length / 2, d = 2 * gaussian.Shape[1];
        var y = Allocate(n, d);
        PositionalEncoding.Points(Act(coords), n, Weights(gaussian), d, Act(y));
        return y;
    }

    /// <inheritdoc />
    public Tensor PostprocessMasks(Tensor lowRes, int imgSize, int inputH, int inputW, int origH, int origW)
    {
        int low = lowRes.Dim(-1), planes = lowRes.Length / (low * low);
        var cropped = Allocate(planes, inputH, inputW);
        Postprocess.Resize(Act(lowRes), planes, new ResizeShape { InH = low, InW = low, ScaleH = imgSize, ScaleW = imgSize, OutH = inputH, OutW = inputW }, Act(cropped));
        var y = Allocate(planes, origH, origW);
        Postprocess.Resize(Act(cropped), planes, new ResizeShape { InH = inputH, InW = inputW, ScaleH = origH, ScaleW = origW, OutH = origH, OutW = origW }, Act(y));
        cropped.Dispose();
        return y;
    }

    /// <inheritdoc />
    public byte[] ThresholdToHost(Tensor logits)
    {
        var values = Act(logits);
        using var mask = Accelerator.Allocate1D<byte>(logits.Length);
        Postprocess.Threshold(values, logits.Length, mask.View);
        Accelerator.Synchronize();
        return mask.GetAsArray1D();
    }

    /// <summary>
    /// Waits for the device, then frees every buffer (tensors still alive throw
    /// <see cref="ObjectDisposedException"/> from then on), the accelerator and the context. A second
    /// call does nothing.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Accelerator.Synchronize();
        _pool.Dispose();
        foreach (var b in _uploads) b.Dispose();
        _none.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }
}
