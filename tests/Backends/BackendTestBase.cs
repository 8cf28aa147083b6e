using System.Reflection;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Kernels;
using SamEngine.Tests.Kernels;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends;

/// <summary>
/// A test body that runs on every backend: the managed CPU backend when the concrete class names no
/// accelerator, else the ILGPU backend on the <see cref="AcceleratorAttribute"/>'s accelerator (test
/// methods are <see cref="AcceleratorFactAttribute"/>s, so a missing GPU is reported as skipped).
/// </summary>
public abstract class BackendTestBase : IDisposable
{
    /// <summary>Opens the concrete class's backend.</summary>
    protected BackendTestBase()
    {
        var target = GetType().GetCustomAttribute<AcceleratorAttribute>();
        Backend = target is null ? new CpuBackend() : IlgpuBackend.Create(target.Kind, precision: target.Precision);
    }

    /// <summary>The backend under test.</summary>
    protected IBackend Backend { get; }

    /// <summary>Seeded values uniform in [-scale, scale].</summary>
    protected static float[] Values(int seed, long count, float scale = 1f)
    {
        var rng = new Random(seed);
        var r = new float[count];
        for (long i = 0; i < count; i++) r[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return r;
    }

    /// <summary>A seeded tensor of <paramref name="shape"/> on the backend under test.</summary>
    protected Tensor Input(int seed, params int[] shape) => Backend.FromHost(Values(seed, ShapeUtil.Count(shape)), shape);

    /// <summary>A generated fp16 parameter (weight-like scale).</summary>
    protected static Parameter Param(string name, params int[] shape) => new(name, shape, GeneratedWeights.Generate(name, shape, 11));

    /// <inheritdoc />
    public void Dispose()
    {
        Backend.Dispose();
        GC.SuppressFinalize(this);
    }
}
