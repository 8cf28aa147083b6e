namespace SamEngine.Backends.Cpu;

/// <summary>
/// A tensor in managed memory. Op outputs take their buffer from the backend's pool; tensors made by
/// <c>Reshape</c> share it, and the buffer goes back to the pool when the last of them is disposed.
/// A tensor that is never disposed simply leaves its buffer to the GC.
/// </summary>
public sealed class CpuTensor : Tensor
{
    private readonly Storage _storage;
    private int _disposed;

    /// <summary>Wraps <paramref name="data"/> (not copied) with the given shape.</summary>
    public CpuTensor(float[] data, int[] shape) : this(new Storage(data, pooled: false), shape) { }

    /// <summary>Allocates a zeroed tensor.</summary>
    public CpuTensor(params int[] shape) : this(new float[checked((int)Weights.ShapeUtil.Count(shape))], shape) { }

    private CpuTensor(Storage storage, int[] shape) : base(shape)
    {
        if (storage.Data.Length < Length) throw new ArgumentException($"buffer of {storage.Data.Length} floats is too small for shape [{string.Join(", ", shape)}]");
        _storage = storage;
    }

    /// <summary>A pooled tensor whose buffer is not zeroed: for op outputs that are written in full.</summary>
    internal static CpuTensor Uninitialized(params int[] shape) =>
        new(new Storage(HostBufferPool.Shared.Rent(checked((int)Weights.ShapeUtil.Count(shape))), pooled: true), shape);

    /// <summary>Another view of the same buffer (which stays alive until both are disposed).</summary>
    internal CpuTensor View(int[] shape)
    {
        if (_disposed != 0) ThrowDisposed();
        Interlocked.Increment(ref _storage.Refs);
        return new CpuTensor(_storage, shape);
    }

    /// <summary>
    /// Row-major values. The array may be longer than <see cref="Tensor.Length"/> (a pooled buffer):
    /// index it with explicit lengths, or use <see cref="Span"/>. Throws
    /// <see cref="ObjectDisposedException"/> once the tensor is disposed (the pool may have lent the
    /// buffer to another tensor).
    /// </summary>
    public float[] Data
    {
        get
        {
            if (_disposed != 0) ThrowDisposed();
            return _storage.Data;
        }
    }

    /// <summary>The values as a span of exactly <see cref="Tensor.Length"/> elements.</summary>
    public Span<float> Span => Data.AsSpan(0, Length);

    /// <summary>Gives up this view of the buffer (returned to the pool with the last view); a second call does nothing.</summary>
    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && Interlocked.Decrement(ref _storage.Refs) == 0 && _storage.Pooled)
            HostBufferPool.Shared.Return(_storage.Data);
        base.Dispose();
    }

    private sealed class Storage(float[] data, bool pooled)
    {
        public readonly float[] Data = data;
        public readonly bool Pooled = pooled;
        public int Refs = 1;
    }
}
