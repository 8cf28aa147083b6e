using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Cli;

/// <summary>Maps a --backend name (and activation precision) to a backend instance.</summary>
public static class BackendFactory
{
    /// <summary>The names <c>--backend</c> accepts.</summary>
    public static readonly string[] Names = ["auto", "cpu", "ilgpu-cpu", "cuda", "opencl"];

    /// <summary>
    /// Creates the named backend with activations stored in <paramref name="precision"/>, or fails with a
    /// usage error saying why it is unavailable (the cpu backend computes in fp32 only).
    /// </summary>
    public static IBackend Create(string name, Precision precision = Precision.Fp32) => name switch
    {
        "cpu" => Cpu(precision, "the cpu backend computes in fp32"),
        "auto" => Auto(precision),
        "ilgpu-cpu" => Open(name, IlgpuDeviceKind.Cpu, precision),
        "cuda" => Open(name, IlgpuDeviceKind.Cuda, precision),
        "opencl" => Open(name, IlgpuDeviceKind.OpenCL, precision),
        _ => throw new UsageException($"unknown backend '{name}' (expected one of {string.Join(", ", Names)})"),
    };

    /// <summary>CUDA, then an OpenCL GPU, else the managed CPU path.</summary>
    private static IBackend Auto(Precision precision)
    {
        foreach (var kind in new[] { IlgpuDeviceKind.Cuda, IlgpuDeviceKind.OpenCL })
        {
            try { return IlgpuBackend.Create(kind, gpuOnly: true, precision); }
            catch (Exception e) when (e is not OutOfMemoryException) { /* not present: try the next */ }
        }
        return Cpu(precision, "auto found no GPU and the cpu backend computes in fp32 (use --backend ilgpu-cpu)");
    }

    private static CpuBackend Cpu(Precision precision, string whyNotFp16) =>
        precision == Precision.Fp32 ? new CpuBackend() : throw new UsageException($"--precision fp16 is not available: {whyNotFp16}");

    private static IBackend Open(string name, IlgpuDeviceKind kind, Precision precision)
    {
        try { return IlgpuBackend.Create(kind, gpuOnly: false, precision); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new UsageException($"backend '{name}' is not available: {e.Message}");
        }
    }
}
