using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>
/// Runs alone: the GEMM scratch pool is process-wide, so a GEMM of a test running beside this one could hold
/// the free block at the moment a new thread asks for it, and the new block it then gets would count here.
/// </summary>
[CollectionDefinition(nameof(ProcessWideScratchCollection), DisableParallelization = true)]
public sealed class ProcessWideScratchCollection;

/// <summary>The CPU backend's scratch memory belongs to workers, rented from pools, not to threads.</summary>
[Collection(nameof(ProcessWideScratchCollection))]
public class CpuParallelTests
{
    /// <summary>
    /// A GEMM's packed A block (144 x 256 floats) is a worker's scratch from a pool: a thread that has
    /// never run a GEMM reuses the block another one left, so the thread pool growing on a busy machine
    /// does not grow the scratch with it (a thread-static block cost 147 KB per thread).
    /// </summary>
    [Fact]
    public void GemmScratchIsReusedByNewThreads()
    {
        using var be = new CpuBackend();
        var w = new Parameter("lin.weight", [16, 16], GeneratedWeights.Generate("lin.weight", [16, 16], 1));
        using var x = be.FromHost(new float[64 * 16], 64, 16); // 64 rows: the packed GEMM, serial at this size
        be.Linear(x, w, null).Dispose(); // warm: the pools hold the block, the packed B and the output

        var allocated = new long[8];
        for (int t = 0; t < allocated.Length; t++)
        {
            var thread = new Thread(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                be.Linear(x, w, null).Dispose();
                allocated[t] = GC.GetAllocatedBytesForCurrentThread() - before;
            });
            thread.Start();
            thread.Join();
        }
        Assert.All(allocated, bytes => Assert.True(bytes < 16 << 10, $"a GEMM on a new thread allocated {bytes} bytes"));
    }

    [Fact]
    public void EnsureKeepsABufferLongEnoughAndGrowsOneTooShort()
    {
        float[]? buffer = null;
        var first = Scratch.Ensure(ref buffer, 10);
        Assert.Same(buffer, first);
        Assert.Same(first, Scratch.Ensure(ref buffer, 7));
        var grown = Scratch.Ensure(ref buffer, 11);
        Assert.NotSame(first, grown);
        Assert.Equal(11, grown.Length);
    }
}
