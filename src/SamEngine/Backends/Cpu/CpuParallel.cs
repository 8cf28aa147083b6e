using System.Collections.Concurrent;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// Parallel loops of the CPU backend: at most one worker per core, and scratch memory that belongs
/// to a worker of a loop rather than to a thread. On a busy machine the thread pool grows to dozens
/// of threads; per-thread scratch (several MB per thread for the global attention of ViT-H) and
/// unbounded loops would grow with it, in memory and in cache thrashing.
/// </summary>
/// <remarks>
/// The CPU backend's temporary memory comes from two places, one per kind of use: buffers an op needs
/// once per call (packed operands, im2col patches, score matrices) are rented from
/// <see cref="HostBufferPool.Shared"/>, beside the tensors, and returned when the op ends; buffers
/// each worker of a parallel loop reuses item after item live in a scratch object rented from a
/// <see cref="ScratchPool{TScratch}"/> once per worker (<see cref="For{TScratch}"/>), or once per call
/// by a caller that runs serially, and are grown by <see cref="Scratch.Ensure{T}"/>. Fixed small tiles
/// (a register tile's edge, an 8 KB conversion block) are on the stack.
/// </remarks>
internal static class CpuParallel
{
    /// <summary>One worker per core.</summary>
    public static readonly ParallelOptions Options = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    /// <summary><paramref name="body"/>(i) for i in [from, to), one worker per core.</summary>
    public static void For(int from, int to, Action<int> body) => Parallel.For(from, to, Options, body);

    /// <summary>
    /// <paramref name="body"/>(i, scratch) for i in [from, to), one worker per core; each worker
    /// rents one scratch object from <paramref name="pool"/> for its whole share of the loop.
    /// </summary>
    public static void For<TScratch>(int from, int to, ScratchPool<TScratch> pool, Action<int, TScratch> body)
        where TScratch : class, new() =>
        Parallel.For(from, to, Options, pool.Rent, (i, _, scratch) =>
        {
            body(i, scratch);
            return scratch;
        }, pool.Return);
}

/// <summary>Growing the buffers of a scratch object.</summary>
internal static class Scratch
{
    /// <summary><paramref name="buffer"/> if it holds <paramref name="length"/> elements, else a new one that does, kept in <paramref name="buffer"/>.</summary>
    public static T[] Ensure<T>(ref T[]? buffer, int length) =>
        buffer is { } b && b.Length >= length ? b : buffer = new T[Math.Max(length, 1)];
}

/// <summary>
/// Reusable scratch objects (buffers grown on demand by <see cref="Scratch.Ensure{T}"/> and kept): the
/// steady state allocates nothing, and the pool holds no more objects than were ever in use at once.
/// </summary>
internal sealed class ScratchPool<TScratch> where TScratch : class, new()
{
    private readonly ConcurrentBag<TScratch> _free = new();

    /// <summary>A free scratch object, or a new one.</summary>
    public TScratch Rent() => _free.TryTake(out var s) ? s : new TScratch();

    /// <summary>Hands a scratch object back for the next worker.</summary>
    public void Return(TScratch scratch) => _free.Add(scratch);
}
