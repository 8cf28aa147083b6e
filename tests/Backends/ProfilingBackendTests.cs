using SamEngine.Backends;
using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends;

/// <summary>The profiling wrapper disposes the backend it wraps, once.</summary>
public sealed class ProfilingBackendTests
{
    [Fact]
    public void Dispose_disposes_the_inner_backend_and_may_be_repeated()
    {
        var inner = new CpuBackend();
        var profiler = new ProfilingBackend(inner);
        profiler.Dispose();
        profiler.Dispose();
        Assert.Throws<ObjectDisposedException>(() => inner.FromHost([1f], 1));
        Assert.Throws<ObjectDisposedException>(() => profiler.FromHost([1f], 1));
    }
}
