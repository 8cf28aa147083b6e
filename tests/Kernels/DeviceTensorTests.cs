using SamEngine.Kernels;

namespace SamEngine.Tests.Kernels;

/// <summary>Device tensors and their reshaped views: disposal is counted once per view, and a disposed tensor is never read.</summary>
[Collection("ilgpu")]
public sealed class DeviceTensorTests
{
    [Fact]
    public void A_disposed_tensor_throws_instead_of_reading_a_buffer_the_pool_may_have_lent_again()
    {
        using var be = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        var t = be.FromHost([1f, 2f], 2);
        t.Dispose();
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ((DeviceTensor)t).Raw);
        Assert.Throws<ObjectDisposedException>(() => be.ToHost(t));
        Assert.Throws<ObjectDisposedException>(() => be.Add(t, t));
        Assert.Throws<ObjectDisposedException>(() => be.Reshape(t, 1, 2));
    }

    [Fact]
    public void Disposing_a_view_twice_leaves_the_other_view_its_data()
    {
        using var be = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        using var t = be.FromHost([1f, 2f, 3f, 4f], 4);
        var view = be.Reshape(t, 2, 2);
        view.Dispose();
        view.Dispose(); // counted once: t still holds the buffer, so the pool may not lend it out
        using var other = be.FromHost([9f, 9f, 9f, 9f], 4);
        Assert.Equal([1f, 2f, 3f, 4f], be.ToHost(t));
    }
}
