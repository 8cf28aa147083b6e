using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The CPU backend's buffer pool: best fit within a factor of two, shared between nearby sizes, capped.</summary>
public class HostBufferPoolTests
{
    [Fact]
    public void ReturnedBufferServesRequestsUpToTwiceSmaller()
    {
        var pool = new HostBufferPool();
        var a = pool.Rent(1000);
        Assert.Equal(1000, a.Length);
        pool.Return(a);
        var b = pool.Rent(600);
        Assert.Same(a, b);
        pool.Return(b);
        var c = pool.Rent(499); // 1000 is more than twice 499: a new buffer, exactly as long as asked
        Assert.NotSame(a, c);
        Assert.Equal(499, c.Length);
    }

    [Fact]
    public void SmallestFittingBufferIsTaken()
    {
        var pool = new HostBufferPool();
        float[] big = new float[900], mid = new float[700], small = new float[300];
        pool.Return(big);
        pool.Return(small);
        pool.Return(mid);
        Assert.Same(mid, pool.Rent(500));
        Assert.Same(big, pool.Rent(500));
        Assert.Equal(4L * small.Length, pool.PooledBytes);
    }

    [Fact]
    public void FreeBufferJustTooSmallIsDroppedForTheLargerOne()
    {
        var pool = new HostBufferPool();
        var qkv = new float[300];
        pool.Return(qkv);
        var hidden = pool.Rent(400); // 300 cannot hold it but is within a factor of two: dropped
        Assert.Equal(400, hidden.Length);
        Assert.Equal(0, pool.PooledBytes);
        pool.Return(hidden);
        Assert.Same(hidden, pool.Rent(300)); // both sizes now share the larger buffer
    }

    [Fact]
    public void BuffersBeyondTheCapAreLeftToTheGc()
    {
        var pool = new HostBufferPool(maxPooledBytes: 4 * 100);
        pool.Return(new float[100]);
        pool.Return(new float[60]);
        Assert.Equal(400, pool.PooledBytes);
        Assert.Equal(100, pool.Rent(60).Length);
        Assert.Equal(60, pool.Rent(60).Length); // the 60 was never pooled: a fresh one
        Assert.Equal(0, pool.PooledBytes);
    }
}
