using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Cli;

/// <summary>
/// Maps a --backend name (and activation precision) to a backend instance. A GPU backend is used only
/// after it passes <see cref="BackendSelfCheck"/> against the managed <c>cpu</c> backend: <c>auto</c>
/// falls back to <c>cpu</c> with one notice line when it does not, an explicit <c>cuda</c> or
/// <c>opencl</c> fails with the comparison (except for <c>parity</c>, whose run against the official
/// outputs is the fuller check and the way to diagnose such a device).
/// </summary>
public static class BackendFactory
{
    /// <summary>The names <c>--backend</c> accepts.</summary>
    public static readonly string[] Names = ["auto", "cpu", "ilgpu-cpu", "cuda", "opencl"];

    /// <summary>Opens an ILGPU device (<see cref="IlgpuBackend.Create"/>; tests put a fake device here).</summary>
    public delegate IBackend DeviceOpener(IlgpuDeviceKind kind, bool gpuOnly, Precision precision);

    /// <summary>
    /// Creates the named backend with activations stored in <paramref name="precision"/>, or fails with a
    /// usage error saying why it is unavailable (the cpu backend has no fp16 activations; int8 is the cpu
    /// backend's alone, so <c>auto</c> takes <c>cpu</c> for it and a named GPU backend refuses it). Notices (a GPU
    /// refused by its self-check) go to <paramref name="notices"/>. <paramref name="checkExplicitGpu"/> false
    /// takes an explicitly named GPU backend as it is (<c>auto</c> still checks before choosing one).
    /// </summary>
    public static IBackend Create(string name, Precision precision = Precision.Fp32, TextWriter? notices = null, bool checkExplicitGpu = true) =>
        Create(name, precision, notices, (kind, gpuOnly, p) => IlgpuBackend.Create(kind, gpuOnly, p), checkExplicitGpu);

    /// <summary>As <see cref="Create(string, Precision, TextWriter?, bool)"/>, with devices opened by <paramref name="open"/>.</summary>
    public static IBackend Create(string name, Precision precision, TextWriter? notices, DeviceOpener open, bool checkExplicitGpu = true) => name switch
    {
        _ when !Names.Contains(name) => throw new UsageException($"unknown backend '{name}' (expected one of {string.Join(", ", Names)})"),
        "cpu" or "auto" when precision == Precision.Int8 => Int8(notices),
        _ when precision == Precision.Int8 => throw new UsageException(
            $"--precision int8 is not available on backend '{name}': int8 is a cpu backend path (use --backend cpu)"),
        "cpu" => Cpu(precision, "the cpu backend computes in fp32"),
        "auto" => Auto(precision, notices, open),
        "ilgpu-cpu" => Open(name, IlgpuDeviceKind.Cpu, precision, open),
        "cuda" => Checked(name, Open(name, IlgpuDeviceKind.Cuda, precision, open), precision, checkExplicitGpu),
        "opencl" => Checked(name, Open(name, IlgpuDeviceKind.OpenCL, precision, open), precision, checkExplicitGpu),
        _ => throw new UsageException($"unknown backend '{name}' (expected one of {string.Join(", ", Names)})"),
    };

    /// <summary>The notice that int8 runs its portable kernel on this CPU (written once per backend created).</summary>
    public const string PortableInt8Notice =
        "samengine: notice: this CPU has no AVX-VNNI that .NET can use (AVX-512 VNNI alone is not exposed), so --precision int8 runs its portable kernel, many times slower than fp32 here";

    /// <summary>The cpu backend with int8 encoder linears; says so where this CPU has no int8 kernel and int8 is slower than fp32.</summary>
    private static CpuBackend Int8(TextWriter? notices)
    {
        if (!CpuBackend.Int8Accelerated) notices?.WriteLine(PortableInt8Notice);
        return new CpuBackend(Precision.Int8);
    }

    /// <summary>CUDA, then an OpenCL GPU, each only if it passes its self-check; else the managed CPU path.</summary>
    private static IBackend Auto(Precision precision, TextWriter? notices, DeviceOpener open)
    {
        foreach (var (kind, name) in new[] { (IlgpuDeviceKind.Cuda, "cuda"), (IlgpuDeviceKind.OpenCL, "opencl") })
        {
            IBackend gpu;
            try { gpu = open(kind, gpuOnly: true, precision); }
            catch (Exception e) when (e is not OutOfMemoryException) { continue; /* not present: try the next */ }
            var check = BackendSelfCheck.Run(gpu, precision);
            if (check.Passed) return gpu;
            string device = gpu.Device;
            gpu.Dispose();
            notices?.WriteLine($"samengine: notice: auto: the {name} backend ({device}) disagrees with cpu on a small generated model, so cpu is used: {check.Summary}");
            return Cpu(precision, $"auto refused the {name} backend (it failed its self-check) and the cpu backend computes in fp32 (use --backend ilgpu-cpu)");
        }
        return Cpu(precision, "auto found no GPU and the cpu backend computes in fp32 (use --backend ilgpu-cpu)");
    }

    /// <summary>The backend when it passes its self-check (or is not to be checked), else a usage error with the comparison.</summary>
    private static IBackend Checked(string name, IBackend backend, Precision precision, bool selfCheck)
    {
        if (!selfCheck) return backend;
        var check = BackendSelfCheck.Run(backend, precision);
        if (check.Passed) return backend;
        string device = backend.Device;
        backend.Dispose();
        throw new UsageException($"backend '{name}' ({device}) disagrees with cpu on a small generated model ({precision.Name()} limits of engine-contracts.md): {check.Summary}");
    }

    private static CpuBackend Cpu(Precision precision, string whyNotFp16) =>
        precision == Precision.Fp32 ? new CpuBackend() : throw new UsageException($"--precision fp16 is not available: {whyNotFp16}");

    private static IBackend Open(string name, IlgpuDeviceKind kind, Precision precision, DeviceOpener open)
    {
        try { return open(kind, gpuOnly: false, precision); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new UsageException($"backend '{name}' is not available: {e.Message}");
        }
    }
}
