using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The CPU backend's lifetime: a second Dispose does nothing, and every op after the first throws.</summary>
public sealed class CpuBackendTests
{
    [Fact]
    public void Ops_after_Dispose_throw_and_a_second_Dispose_does_nothing()
    {
        var be = new CpuBackend();
        using var x = be.FromHost([1f, 2f, 3f, 4f], 1, 2, 2);
        var weight = new Parameter("w", [2, 2], GeneratedWeights.Generate("w", [2, 2], 0));
        be.Dispose();
        be.Dispose();
        Assert.Throws<ObjectDisposedException>(() => be.FromHost([1f], 1));
        Assert.Throws<ObjectDisposedException>(() => be.FromParameter(weight));
        Assert.Throws<ObjectDisposedException>(() => be.ToHost(x));
        Assert.Throws<ObjectDisposedException>(() => be.Reshape(x, 4));
        Assert.Throws<ObjectDisposedException>(() => be.Linear(x, weight, null));
        Assert.Throws<ObjectDisposedException>(() => be.Activate(x, Activation.Gelu));
    }
}
