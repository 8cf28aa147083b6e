using System.Runtime.CompilerServices;
using SamEngine.Parity;
using SamEngine.Weights;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// The managed CPU backend: fp32 compute over fp16 weights, SIMD micro-kernels, all cores.
/// GEMM weights stay fp16 and are converted while the GEMM packs them; small parameters (biases,
/// norms, position tables) are converted once and cached for the model's lifetime. With
/// <see cref="Precision.Int8"/> the ViT encoder's linear layers run in int8 (<see cref="Int8Gemm"/>);
/// everything else stays fp32.
/// </summary>
public sealed partial class CpuBackend : IBackend
{
    private readonly ConditionalWeakTable<Parameter, float[]> _floats = new(), _transposed = new();
    private readonly ConditionalWeakTable<Parameter, Int8Weight> _int8 = new();
    private readonly bool _int8Encoder;

    /// <summary>A backend computing in fp32.</summary>
    public CpuBackend() : this(Precision.Fp32) { }

    /// <summary>
    /// A backend computing in fp32, or with <see cref="Precision.Int8"/> the linear layers of SAM 1's ViT
    /// encoder blocks (the weights named <c>image_encoder.blocks.*</c> that <see cref="Linear"/> is given:
    /// qkv, attention projections, MLPs) in int8: weights per output channel, quantized once on first use
    /// and kept for the model's lifetime; activations per token. Attention, norms, convs, the decoder, and
    /// the Hiera and TinyViT encoders (their masks drift further; README, "Low precision (int8)") stay fp32.
    /// </summary>
    /// <exception cref="NotSupportedException"><see cref="Precision.Fp16"/>: this backend does not store fp16 activations.</exception>
    public CpuBackend(Precision precision)
    {
        if (precision == Precision.Fp16) throw new NotSupportedException("the cpu backend computes in fp32 (or int8 encoder linears), not fp16");
        _int8Encoder = precision == Precision.Int8;
    }

    /// <summary>
    /// Whether this CPU has an int8 product kernel (AVX-VNNI, as .NET exposes it); without one int8 runs a
    /// portable kernel that computes the same integers many times slower than the fp32 path.
    /// </summary>
    public static bool Int8Accelerated => Int8Kernels.Best != Int8Path.Portable;

    /// <summary><see cref="Precision.Int8"/> when the ViT encoder's linear layers run in int8, else <see cref="Precision.Fp32"/>.</summary>
    public Precision Precision => _int8Encoder ? Precision.Int8 : Precision.Fp32;

    /// <inheritdoc />
    public string Name => "cpu";

    /// <inheritdoc />
    public string Device => $"managed CPU, {Environment.ProcessorCount} threads, {SimdDescription}, {Gemm.ActivePath} kernels"
        + (_int8Encoder ? $", int8 encoder linears ({Int8Gemm.ActivePath} kernels)" : "");

    private static string SimdDescription =>
        System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "AVX-512"
        : System.Runtime.Intrinsics.X86.Fma.IsSupported ? "AVX2+FMA"
        : System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported ? "AdvSimd"
        : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "256-bit SIMD"
        : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? "128-bit SIMD" : "scalar";

    internal float[] Floats(Parameter p) => _floats.GetValue(p, q =>
    {
        var f = new float[q.Length];
        HalfConversion.ToSingle(q.HalfBits, f);
        return f;
    });

    /// <summary>A matrix parameter [R, C] as float32 [C, R], cached like <see cref="Floats"/>.</summary>
    internal float[] TransposedFloats(Parameter p) => _transposed.GetValue(p, q =>
    {
        var x = q.ToFloat(); // not via Floats: the untransposed copy is not needed as well
        int rows = q.Shape[0], cols = q.Length / rows;
        var t = new float[x.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
        return t;
    });

    /// <summary>
    /// The int8 form of an nn.Linear weight [N, K] when this backend runs it in int8 (a ViT encoder block's
    /// weight, int8 precision, K within <see cref="Int8Gemm.MaxK"/>), quantized on first use; else null.
    /// </summary>
    private Int8Weight? Int8Linear(Parameter w) =>
        _int8Encoder && w.Name.StartsWith(EncoderPrefix, StringComparison.Ordinal) && w.Shape[1] <= Int8Gemm.MaxK
            ? _int8.GetValue(w, q => Int8Weight.Quantize(q.ToFloat(), q.Shape[0], q.Shape[1]))
            : null;

    /// <summary>The official state-dict prefix of the ViT encoder's blocks (Hiera's are under <c>image_encoder.trunk.</c>, TinyViT's <c>image_encoder.layers.</c>).</summary>
    internal const string EncoderPrefix = "image_encoder.blocks.";

    /// <summary>The nn.Linear weight [N, K] as a GEMM operand, read as fp16 in place.</summary>
    internal static GemmRhs LinearRhs(Parameter w) => GemmRhs.TransposedHalf(w.Bits, w.Shape[0], w.Shape[1]);

    private bool _disposed;

    /// <summary>An op's input as this backend's tensor; every op reads its inputs through here, so after <see cref="Dispose"/> every op throws.</summary>
    private CpuTensor Cpu(Tensor t)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return t as CpuTensor ?? throw new ArgumentException($"{t} does not belong to the CPU backend");
    }

    /// <inheritdoc />
    public Tensor FromHost(ReadOnlySpan<float> data, params int[] shape)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        OpShapes.FromHost(data.Length, shape);
        var t = CpuTensor.Uninitialized(shape);
        data.CopyTo(t.Span);
        return t;
    }

    /// <inheritdoc />
    public Tensor FromParameter(Parameter p)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new CpuTensor(Floats(p), p.Shape);
    }

    /// <inheritdoc />
    public float[] ToHost(Tensor x) => Cpu(x).Span.ToArray();

    /// <inheritdoc />
    public void ToHost(Tensor x, Span<float> destination)
    {
        if (destination.Length != x.Length) throw new ArgumentException($"{x} does not fit a buffer of {destination.Length} values");
        Cpu(x).Span.CopyTo(destination);
    }

    /// <inheritdoc />
    public Tensor Reshape(Tensor x, params int[] shape)
    {
        OpShapes.Reshape(x, shape);
        return Cpu(x).View(shape);
    }

    /// <inheritdoc />
    public Tensor Linear(Tensor x, Parameter weight, Parameter? bias, Activation act = Activation.None, Tensor? residual = null)
    {
        var (shape, m, n, k) = OpShapes.Linear(x, weight, bias, act, residual);
        var y = CpuTensor.Uninitialized(shape);
        float[]? res = residual is null ? null : Cpu(residual).Data;
        if (m < SmallLinearRows)
        {
            SmallRowLinear.Multiply(Cpu(x).Data, m, TransposedFloats(weight), n, k, bias is null ? null : Floats(bias), act, y.Data);
            if (res is not null) Elementwise.AddBroadcast(y.Data, res, residual!.Length, y.Data, y.Length); // in place
        }
        else if (Int8Linear(weight) is { } q) Int8Gemm.Multiply(m, Cpu(x).Data, q, y.Data, bias is null ? null : Floats(bias), act, res);
        else Gemm.Multiply(m, Cpu(x).Data, 0, LinearRhs(weight), y.Data, 0, bias is null ? null : Floats(bias), act, residual: res);
        return y;
    }

    /// <summary>
    /// Below this many rows (the decoder's prompt tokens, a pass of prompts included) packing the weight
    /// would cost more than the product: <see cref="SmallRowLinear"/> reads an fp32 transposed copy kept
    /// for the model's lifetime instead (only the decoder's small weights ever take this path).
    /// </summary>
    private const int SmallLinearRows = 64;

    /// <inheritdoc />
    public Tensor MatMulTransposed(Tensor a, Tensor b)
    {
        var (batch, m, n, k) = OpShapes.MatMulTransposed(a, b);
        var y = CpuTensor.Uninitialized(batch, m, n);
        var ad = Cpu(a).Data;
        var bd = Cpu(b).Data;
        for (int i = 0; i < batch; i++)
            Gemm.Multiply(m, ad, i * m * k, GemmRhs.Transposed(bd, i * n * k, n, k), y.Data, i * m * n);
        return y;
    }

    /// <inheritdoc />
    public Tensor Add(Tensor a, Tensor b)
    {
        OpShapes.Add(a, b);
        var y = CpuTensor.Uninitialized(a.Shape);
        Elementwise.AddBroadcast(Cpu(a).Data, Cpu(b).Data, b.Length, y.Data, y.Length);
        return y;
    }

    /// <inheritdoc />
    public Tensor LayerNorm(Tensor x, Parameter weight, Parameter bias, float eps, Tensor? residual = null)
    {
        int c = OpShapes.LayerNorm(x, weight, bias, eps, residual);
        var y = CpuTensor.Uninitialized(x.Shape);
        Elementwise.LayerNorm(Cpu(x).Data, y.Data, x.Length / c, c, Floats(weight), Floats(bias), eps,
            residual is null ? null : Cpu(residual).Data, residual?.Length ?? 0);
        return y;
    }

    /// <inheritdoc />
    public Tensor Activate(Tensor x, Activation act)
    {
        OpShapes.Activate(x, act);
        var y = CpuTensor.Uninitialized(x.Shape);
        Elementwise.Activate(Cpu(x).Data, y.Data, y.Length, act);
        return y;
    }

    /// <inheritdoc />
    public Tensor Transpose(Tensor x)
    {
        var (batch, m, n) = OpShapes.Transpose(x);
        var y = CpuTensor.Uninitialized(batch, n, m);
        var src = Cpu(x).Data;
        Parallel.For(0, batch * n, bj =>
        {
            int b = bj / n, j = bj % n;
            int so = b * m * n + j, d = b * m * n + j * m;
            for (int i = 0; i < m; i++) y.Data[d + i] = src[so + i * n];
        });
        return y;
    }

    /// <inheritdoc />
    public Tensor SliceRows(Tensor x, int start, int count)
    {
        var (shape, batch, rows, c) = OpShapes.SliceRows(x, start, count);
        var y = CpuTensor.Uninitialized(shape);
        var src = Cpu(x).Data;
        for (int b = 0; b < batch; b++)
            Array.Copy(src, (b * rows + start) * c, y.Data, b * count * c, count * c);
        return y;
    }

    /// <inheritdoc />
    public Tensor ConcatRows(params Tensor[] parts)
    {
        var (batch, rows, c) = OpShapes.ConcatRows(parts);
        var y = CpuTensor.Uninitialized(batch, rows, c);
        for (int b = 0, dst = 0; b < batch; b++)
            foreach (var p in parts)
            {
                int n = p.Dim(1) * c;
                Array.Copy(Cpu(p).Data, b * n, y.Data, dst, n);
                dst += n;
            }
        return y;
    }

    /// <summary>
    /// Drops the weight copies cached for the parameters it has seen; every op throws
    /// <see cref="ObjectDisposedException"/> afterwards. A second call does nothing. (Activation buffers
    /// belong to a pool shared by all CPU backends.)
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        _floats.Clear();
        _transposed.Clear();
        _int8.Clear();
        _convRhs.Clear();
        _convTBias.Clear();
        _convTRows.Clear();
        _packedConvT.Clear();
        _foldedConv.Clear();
        _foldedDepthwise.Clear();
        _biasTables.Clear();
        _packedConv.Clear();
    }
}
