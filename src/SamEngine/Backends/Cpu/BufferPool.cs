using System.Collections.Concurrent;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// Activation buffers of the CPU backend, reused by exact length: a model runs the same shapes over and
/// over, so a buffer handed back by a disposed tensor is the next op's output instead of new garbage
/// for the GC. Holds at most <see cref="MaxPooledBytes"/>; beyond that returned buffers are left to the GC.
/// </summary>
internal static class BufferPool
{
    private const long MaxPooledBytes = 1L << 30;
    private static readonly ConcurrentDictionary<int, ConcurrentBag<float[]>> Free = new();
    private static long _pooledBytes;

    /// <summary>A buffer of exactly <paramref name="length"/> floats, contents undefined.</summary>
    public static float[] Rent(int length)
    {
        if (Free.TryGetValue(length, out var bag) && bag.TryTake(out var buf))
        {
            Interlocked.Add(ref _pooledBytes, -4L * length);
            return buf;
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>Hands a buffer back; the caller must hold its last reference.</summary>
    public static void Return(float[] buffer)
    {
        if (Interlocked.Add(ref _pooledBytes, 4L * buffer.Length) > MaxPooledBytes)
        {
            Interlocked.Add(ref _pooledBytes, -4L * buffer.Length);
            return;
        }
        Free.GetOrAdd(buffer.Length, _ => new ConcurrentBag<float[]>()).Add(buffer);
    }
}
