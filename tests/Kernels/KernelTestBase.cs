using System.Reflection;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Kernels;
using SamEngine.Parity;
using SamEngine.Weights;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// Shared plumbing of the kernel test bodies: the managed CPU backend as the reference, the ILGPU
/// backend on the accelerator and in the activation format the concrete class names, seeded inputs
/// and fp16 parameters, and the comparison. Shapes are kept small because ILGPU's CPU accelerator runs
/// every GPU thread as an OS thread.
/// </summary>
/// <remarks>
/// With fp16 activations the inputs are made fp16-exact first, so the reference sees what the device
/// stores; a kernel then differs from the float32 reference by the one rounding of its output to fp16
/// (at most 2^-11 relative), which the fp16 tolerance (1e-3 relative) bounds with a 2x margin.
/// </remarks>
public abstract class KernelTestBase : IDisposable
{
    private readonly Lazy<IIlgpuBackend> _device;

    /// <summary>Opens the accelerator of the concrete class.</summary>
    protected KernelTestBase()
    {
        var target = GetType().GetCustomAttribute<AcceleratorAttribute>();
        var kind = target?.Kind ?? IlgpuDeviceKind.Cpu;
        Precision = target?.Precision ?? Precision.Fp32;
        _device = new Lazy<IIlgpuBackend>(() => IlgpuBackend.Create(kind, precision: Precision));
    }

    /// <summary>The reference backend.</summary>
    protected CpuBackend Reference { get; } = new();

    /// <summary>The backend under test.</summary>
    protected IIlgpuBackend Device => _device.Value;

    /// <summary>How the backend under test stores activations.</summary>
    protected Precision Precision { get; }

    /// <summary>Relative tolerance of a single kernel: fp32 reduction-order noise, or one fp16 rounding of the output.</summary>
    protected float RelativeTolerance => Precision == Precision.Fp16 ? 1e-3f : 1e-4f;

    /// <summary>Seeded values uniform in [-scale, scale], exactly representable in the activation format.</summary>
    protected float[] Values(int seed, int count, float scale = 1f)
    {
        var rng = new Random(seed);
        var r = new float[count];
        for (int i = 0; i < count; i++) r[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return Stored(r);
    }

    /// <summary><paramref name="v"/> as the device stores it: unchanged for fp32, rounded to fp16 (in place) for fp16.</summary>
    protected float[] Stored(float[] v)
    {
        if (Precision == Precision.Fp16)
            for (int i = 0; i < v.Length; i++) v[i] = (float)(Half)v[i];
        return v;
    }

    /// <summary>The same seeded input on both backends.</summary>
    protected (Tensor Ref, Tensor Dev) Input(int seed, params int[] shape)
    {
        var v = Values(seed, (int)ShapeUtil.Count(shape));
        return (Reference.FromHost(v, shape), Device.FromHost(v, shape));
    }

    /// <summary>A generated fp16 parameter (values from the splitmix-v1 generator, so with weight-like scale).</summary>
    protected static Parameter Param(string name, params int[] shape) => new(name, shape, GeneratedWeights.Generate(name, shape, 11));

    /// <summary>Asserts the device result matches the reference: |d - r| ≤ 1e-5 + <see cref="RelativeTolerance"/> |r| everywhere.</summary>
    protected void AssertClose(string name, Tensor reference, Tensor device) =>
        KernelAssert.Close(name, Reference.ToHost(reference), Device.ToHost(device), reference.Shape, device.Shape, rtol: RelativeTolerance);

    /// <summary>Asserts host values match: |d - r| ≤ <paramref name="atol"/> + <see cref="RelativeTolerance"/> |r| everywhere.</summary>
    protected void AssertClose(string name, float[] expected, float[] actual, float atol = 1e-5f) =>
        KernelAssert.Close(name, expected, actual, atol: atol, rtol: RelativeTolerance);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_device.IsValueCreated) _device.Value.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The kernels' comparison: elementwise |actual - expected| ≤ atol + rtol |expected| (llm.c style), reporting the first mismatches, max abs and rel L2.</summary>
internal static class KernelAssert
{
    public static void Close(string name, float[] expected, float[] actual, int[]? expectedShape = null, int[]? actualShape = null, float atol = 1e-5f, float rtol = 1e-4f)
    {
        if (expectedShape is not null && actualShape is not null)
            Assert.True(expectedShape.SequenceEqual(actualShape), $"{name}: shape {ShapeUtil.Format(actualShape)}, expected {ShapeUtil.Format(expectedShape)}");
        Assert.Equal(expected.Length, actual.Length);
        double num = 0, den = 0, maxAbs = 0;
        int bad = 0;
        var first = new List<string>();
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            num += d * d;
            den += (double)expected[i] * expected[i];
            maxAbs = Math.Max(maxAbs, double.IsNaN(d) ? double.PositiveInfinity : d);
            if (!(d <= atol + rtol * Math.Abs(expected[i])) && bad++ < 5) first.Add($"[{i}] expected {expected[i]:G9} got {actual[i]:G9}");
        }
        double rel = Math.Sqrt(num) / Math.Max(Math.Sqrt(den), 1e-30);
        Assert.True(bad == 0, $"{name}: {bad} of {expected.Length} values out of tolerance (max abs {maxAbs:E2}, rel L2 {rel:E2}); first: {string.Join(", ", first)}");
    }
}
