using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>CPU tensors and their reshaped views: disposal is counted once per view, and a disposed tensor is never read.</summary>
public sealed class CpuTensorTests
{
    [Fact]
    public void A_disposed_tensor_throws_instead_of_reading_a_buffer_the_pool_may_have_lent_again()
    {
        using var be = new CpuBackend();
        var t = be.FromHost([1f, 2f], 2);
        t.Dispose();
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ((CpuTensor)t).Data);
        Assert.Throws<ObjectDisposedException>(() => be.ToHost(t));
        Assert.Throws<ObjectDisposedException>(() => be.Add(t, t));
        Assert.Throws<ObjectDisposedException>(() => be.Reshape(t, 1, 2));
    }

    [Fact]
    public void Disposing_a_view_twice_leaves_the_other_view_its_data()
    {
        using var be = new CpuBackend();
        using var t = be.FromHost([1f, 2f, 3f, 4f], 4);
        var view = be.Reshape(t, 2, 2);
        view.Dispose();
        view.Dispose(); // counted once: t still holds the buffer, so the pool may not lend it out
        using var other = be.FromHost([9f, 9f, 9f, 9f], 4);
        Assert.Equal([1f, 2f, 3f, 4f], be.ToHost(t));
    }
}
