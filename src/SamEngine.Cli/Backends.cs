using SamEngine.Backends;
using SamEngine.Backends.Cpu;

namespace SamEngine.Cli;

/// <summary>Maps a --backend name to a backend instance.</summary>
public static class BackendFactory
{
    /// <summary>The names <c>--backend</c> accepts.</summary>
    public static readonly string[] Names = ["auto", "cpu", "ilgpu-cpu", "cuda", "opencl"];

    /// <summary>Creates the named backend or fails with a usage error saying why it is unavailable.</summary>
    public static IBackend Create(string name) => name switch
    {
        "auto" or "cpu" => new CpuBackend(),
        "ilgpu-cpu" or "cuda" or "opencl" => throw new UsageException($"backend '{name}' is not available in this build yet (use cpu)"),
        _ => throw new UsageException($"unknown backend '{name}' (expected one of {string.Join(", ", Names)})"),
    };
}
