namespace SamEngine.Backends.Cpu;

/// <summary>
/// The CPU backend's host (managed) float buffers, for tensor storage and op scratch, reused: a model
/// runs the same shapes over and over, so a buffer handed back by a disposed tensor is the next op's
/// output instead of new garbage for the GC. A request takes the smallest free buffer that holds it, up to
/// <see cref="MaxOversize"/> times its length, so that buffers are shared between shapes that are never
/// live at once (a ViT block's qkv [T, 3C] and MLP hidden [T, 4C]) and the pool holds about the peak of
/// live activations rather than one set per shape; a free buffer just too small for a request is
/// dropped when the larger one is made. Rented buffers may therefore be longer than asked for.
/// Holds at most <paramref name="maxPooledBytes"/> in free buffers; beyond that they are left to the GC.
/// </summary>
internal sealed class HostBufferPool(long maxPooledBytes = 1L << 30)
{
    /// <summary>At most this many times the requested length is handed out.</summary>
    public const int MaxOversize = 2;

    private readonly List<float[]> _free = []; // ascending by length
    private readonly Lock _gate = new();
    private long _pooledBytes;

    /// <summary>The pool of the CPU backend's tensors and scratch.</summary>
    public static HostBufferPool Shared { get; } = new();

    /// <summary>Bytes held by free buffers now.</summary>
    public long PooledBytes
    {
        get { lock (_gate) return _pooledBytes; }
    }

    /// <summary>A buffer of at least <paramref name="length"/> floats (at most twice that), contents undefined.</summary>
    public float[] Rent(int length)
    {
        lock (_gate)
        {
            int i = FirstAtLeast(length);
            if (i < _free.Count && _free[i].Length <= (long)length * MaxOversize)
            {
                var buffer = _free[i];
                _free.RemoveAt(i);
                _pooledBytes -= 4L * buffer.Length;
                return buffer;
            }
            // A free buffer just too small for this request is dropped rather than kept beside the
            // new one: requests of both sizes can then share the larger buffer from now on.
            if (i > 0 && (long)_free[i - 1].Length * MaxOversize >= length)
            {
                _pooledBytes -= 4L * _free[i - 1].Length;
                _free.RemoveAt(i - 1);
            }
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>Hands a buffer back; the caller must hold its last reference.</summary>
    public void Return(float[] buffer)
    {
        lock (_gate)
        {
            if (_pooledBytes + 4L * buffer.Length > maxPooledBytes) return;
            _free.Insert(FirstAtLeast(buffer.Length), buffer);
            _pooledBytes += 4L * buffer.Length;
        }
    }

    /// <summary>Index of the first free buffer of at least <paramref name="length"/> floats (the count if none).</summary>
    private int FirstAtLeast(int length)
    {
        int lo = 0, hi = _free.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_free[mid].Length < length) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
