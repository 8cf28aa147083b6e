using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Kernels;

namespace SamEngine.Cli;

/// <summary>Maps a --backend name to a backend instance.</summary>
public static class BackendFactory
{
    /// <summary>The names <c>--backend</c> accepts.</summary>
    public static readonly string[] Names = ["auto", "cpu", "ilgpu-cpu", "cuda", "opencl"];

    /// <summary>Creates the named backend or fails with a usage error saying why it is unavailable.</summary>
    public static IBackend Create(string name) => name switch
    {
        "cpu" => new CpuBackend(),
        "auto" => Auto(),
        "ilgpu-cpu" => Open(name, IlgpuDeviceKind.Cpu),
        "cuda" => Open(name, IlgpuDeviceKind.Cuda),
        "opencl" => Open(name, IlgpuDeviceKind.OpenCL),
        _ => throw new UsageException($"unknown backend '{name}' (expected one of {string.Join(", ", Names)})"),
    };

    /// <summary>CUDA, then an OpenCL GPU, else the managed CPU path.</summary>
    private static IBackend Auto()
    {
        foreach (var kind in new[] { IlgpuDeviceKind.Cuda, IlgpuDeviceKind.OpenCL })
        {
            try { return IlgpuBackend.Create(kind, gpuOnly: true); }
            catch (Exception e) when (e is not OutOfMemoryException) { /* not present: try the next */ }
        }
        return new CpuBackend();
    }

    private static IBackend Open(string name, IlgpuDeviceKind kind)
    {
        try { return IlgpuBackend.Create(kind); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new UsageException($"backend '{name}' is not available: {e.Message}");
        }
    }
}
