using SamEngine.Backends;
using SamEngine.Kernels;
using SamEngine.Parity;
using SamEngine.Weights;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// The ILGPU backend's lifetime on ILGPU's CPU accelerator: a second Dispose does nothing, every op
/// afterwards throws, and a tensor that outlived its backend is refused rather than read from freed memory.
/// </summary>
[Collection("ilgpu")]
public sealed class IlgpuBackendTests
{
    [Fact]
    public void Ops_after_Dispose_throw_and_a_second_Dispose_does_nothing()
    {
        var be = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        var x = be.FromHost([1f, 2f, 3f, 4f], 1, 2, 2);
        var weight = new Parameter("w", [2, 2], GeneratedWeights.Generate("w", [2, 2], 0));
        be.Dispose();
        be.Dispose();
        Assert.Throws<ObjectDisposedException>(() => be.FromHost([1f], 1));
        Assert.Throws<ObjectDisposedException>(() => be.FromParameter(weight));
        Assert.Throws<ObjectDisposedException>(() => be.ToHost(x)); // its buffer was freed with the backend
        Assert.Throws<ObjectDisposedException>(() => be.Reshape(x, 4));
        Assert.Throws<ObjectDisposedException>(() => be.Linear(x, weight, null));
        Assert.Throws<ObjectDisposedException>(() => be.Synchronize());
        x.Dispose();
        x.Dispose();
    }

    [Fact]
    public void Disposing_a_parameter_tensor_leaves_the_cached_copy_to_later_calls()
    {
        using var be = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        var weight = new Parameter("w", [2, 2], GeneratedWeights.Generate("w", [2, 2], 0));
        be.FromParameter(weight).Dispose();
        // Same length: a buffer the disposal had handed back to the pool would be lent out here.
        using var other = be.FromHost([9f, 9f, 9f, 9f], 2, 2);
        using var again = be.FromParameter(weight);
        Assert.Equal(weight.ToFloat(), be.ToHost(again));
    }

    [Theory]
    [InlineData(Precision.Fp32)]
    [InlineData(Precision.Fp16)]
    public void LiveTensorCount_follows_disposal_of_outputs_and_views(Precision precision)
    {
        using var be = IlgpuBackend.Create(IlgpuDeviceKind.Cpu, precision: precision);
        int before = DeviceMemory.LiveTensors(be);
        var weight = new Parameter("w", [2, 2], GeneratedWeights.Generate("w", [2, 2], 0));
        using (be.FromParameter(weight)) { } // cached for the parameter's lifetime: not counted
        var x = be.FromHost([1f, 2f, 3f, 4f], 1, 2, 2);
        var view = be.Reshape(x, 4);
        Assert.Equal(before + 1, DeviceMemory.LiveTensors(be)); // a view shares its tensor's storage
        x.Dispose();
        Assert.Equal(before + 1, DeviceMemory.LiveTensors(be)); // the view still holds it
        view.Dispose();
        view.Dispose();
        Assert.Equal(before, DeviceMemory.LiveTensors(be));
        GC.KeepAlive(weight);
    }
}

/// <summary>Reads the ILGPU backend's internal count of live device tensors, whatever its activation format.</summary>
internal static class DeviceMemory
{
    public static int LiveTensors(IIlgpuBackend be) => be switch
    {
        IlgpuBackend<Fp32Activations> f32 => f32.LiveTensorCount,
        IlgpuBackend<Fp16Activations> f16 => f16.LiveTensorCount,
        _ => throw new ArgumentException($"unknown ILGPU backend {be.GetType()}"),
    };
}
