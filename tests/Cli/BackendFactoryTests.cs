using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Cli;
using SamEngine.Kernels;
using SamEngine.Parity;
using SamEngine.Tests.Backends;

namespace SamEngine.Tests.Cli;

/// <summary>
/// <c>auto</c> uses a GPU only when it passes the self-check, else falls back to cpu with one notice line;
/// an explicit <c>cuda</c> that fails the check is an error carrying the comparison. Devices are fakes.
/// </summary>
public class BackendFactoryTests
{
    /// <summary>A machine with a CUDA device that is <paramref name="cuda"/>, and no OpenCL one.</summary>
    private static BackendFactory.DeviceOpener Machine(IBackend cuda) => (kind, _, _) =>
        kind == IlgpuDeviceKind.Cuda ? cuda : throw new InvalidOperationException($"no {kind} device");

    [Fact]
    public void Int8_is_the_cpu_backend_for_cpu_and_auto_without_opening_a_device()
    {
        BackendFactory.DeviceOpener never = (kind, _, _) => throw new InvalidOperationException($"{kind} opened");
        foreach (var name in new[] { "cpu", "auto" })
        {
            using var backend = BackendFactory.Create(name, Precision.Int8, null, never);
            Assert.Equal(Precision.Int8, Assert.IsType<CpuBackend>(backend).Precision);
        }
        foreach (var name in new[] { "ilgpu-cpu", "cuda", "opencl" })
        {
            var e = Assert.Throws<UsageException>(() => BackendFactory.Create(name, Precision.Int8, null, never));
            Assert.Contains($"not available on backend '{name}'", e.Message);
        }
        Assert.Contains("unknown backend 'tpu'", Assert.Throws<UsageException>(() => BackendFactory.Create("tpu", Precision.Int8, null, never)).Message);
    }

    [Fact]
    public void AutoUsesAGpuThatPassesTheCheck()
    {
        var gpu = new FakeDeviceBackend();
        var notices = new StringWriter();
        using var backend = BackendFactory.Create("auto", Precision.Fp32, notices, Machine(gpu));
        Assert.Same(gpu, backend);
        Assert.Equal("", notices.ToString());
    }

    [Fact]
    public void AutoFallsBackToCpuWithOneNoticeWhenTheGpuIsWrong()
    {
        var gpu = new FakeDeviceBackend(error: 1e-2f);
        var notices = new StringWriter();
        using var backend = BackendFactory.Create("auto", Precision.Fp32, notices, Machine(gpu));
        Assert.IsType<CpuBackend>(backend);
        Assert.True(gpu.Disposed);
        var lines = notices.ToString().TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("samengine: notice: auto: the cuda backend (fake device) disagrees with cpu", lines[0]);
        Assert.Contains("rel L2", lines[0]);
    }

    [Fact]
    public void AutoWithoutAnyGpuIsCpuSilently()
    {
        var notices = new StringWriter();
        using var backend = BackendFactory.Create("auto", Precision.Fp32, notices, (kind, _, _) => throw new InvalidOperationException("none"));
        Assert.IsType<CpuBackend>(backend);
        Assert.Equal("", notices.ToString());
    }

    [Fact]
    public void ExplicitCudaThatIsWrongFailsWithTheComparison()
    {
        var gpu = new FakeDeviceBackend(error: 1e-2f);
        var e = Assert.Throws<UsageException>(() => BackendFactory.Create("cuda", Precision.Fp32, null, Machine(gpu)));
        Assert.StartsWith("backend 'cuda' (fake device) disagrees with cpu on a small generated model (fp32 limits", e.Message);
        Assert.Contains("sam1.image_embeddings: rel L2", e.Message);
        Assert.True(gpu.Disposed);
    }

    [Fact]
    public void ParityTakesAnExplicitCudaUnchecked()
    {
        // parity compares the device with the official outputs itself: a wrong device must reach that comparison.
        var gpu = new FakeDeviceBackend(error: 1e-2f);
        using var backend = BackendFactory.Create("cuda", Precision.Fp32, null, Machine(gpu), checkExplicitGpu: false);
        Assert.Same(gpu, backend);
        var notices = new StringWriter();
        using var auto = BackendFactory.Create("auto", Precision.Fp32, notices, Machine(new FakeDeviceBackend(error: 1e-2f)), checkExplicitGpu: false);
        Assert.IsType<SamEngine.Backends.Cpu.CpuBackend>(auto); // auto still checks before it chooses
    }

    [Fact]
    public void ExplicitCudaThatIsRightIsUsed()
    {
        var gpu = new FakeDeviceBackend();
        using var backend = BackendFactory.Create("cuda", Precision.Fp32, null, Machine(gpu));
        Assert.Same(gpu, backend);
    }

    [Fact]
    public void ExplicitIlgpuCpuIsNotChecked()
    {
        // The CPU accelerator is the reference's twin, not a device that needs vouching for (and slow to check).
        var accelerator = new FakeDeviceBackend(error: 1e-2f);
        using var backend = BackendFactory.Create("ilgpu-cpu", Precision.Fp32, null, (_, _, _) => accelerator);
        Assert.Same(accelerator, backend);
    }
}
