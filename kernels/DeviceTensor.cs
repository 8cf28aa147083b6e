using ILGPU;
using ILGPU.Runtime;
using SamEngine.Backends;

namespace SamEngine.Kernels;

/// <summary>
/// Device memory behind one or more tensors (a reshape shares it). It owns no device memory itself:
/// <see cref="DeviceBufferPool"/> holds the buffer and hands it out again once this object is released by
/// the last of its tensors, or collected, so device buffers are never freed by a finaliser racing a reuse.
/// </summary>
internal sealed class DeviceStorage(MemoryBuffer1D<byte, Stride1D.Dense> buffer, DeviceBufferPool pool)
{
    public MemoryBuffer1D<byte, Stride1D.Dense> Buffer { get; } = buffer;

    /// <summary>Set once the storage may be reused.</summary>
    public volatile bool Released;

    /// <summary>Live tensors over this storage (a reshape adds one); the last to be disposed releases it.</summary>
    public int Refs = 1;

    /// <summary>Drops one tensor's reference; the last one hands the buffer back to the pool.</summary>
    public void RemoveRef()
    {
        if (Interlocked.Decrement(ref Refs) != 0) return;
        Released = true;
        pool.Returned();
    }
}

/// <summary>
/// An activation tensor resident on an ILGPU accelerator, stored as the backend's activation format
/// (<see cref="IActivations{TSelf}"/>) says: float32 or fp16.
/// </summary>
public sealed class DeviceTensor : Tensor
{
    private int _disposed;

    internal DeviceTensor(DeviceStorage storage, int[] shape, int bytesPerElement) : base(shape)
    {
        if (storage.Buffer.Length < (long)Length * bytesPerElement) throw new ArgumentException($"device buffer of {storage.Buffer.Length} bytes is too small for {this}");
        Storage = storage;
        BytesPerElement = bytesPerElement;
    }

    internal DeviceStorage Storage { get; }

    /// <summary>Bytes per stored element (4 for float32, 2 for fp16).</summary>
    public int BytesPerElement { get; }

    /// <summary>
    /// The tensor's raw device bytes; view them through the backend's activation format. Throws
    /// <see cref="ObjectDisposedException"/> once the tensor is disposed (the pool may have lent the
    /// buffer to another tensor) or its backend is (the buffer is freed).
    /// </summary>
    public ArrayView<byte> Raw
    {
        get
        {
            if (_disposed != 0 || Storage.Buffer.IsDisposed) ThrowDisposed();
            return Storage.Buffer.View;
        }
    }

    /// <summary>Another tensor over the same data, which stays alive until both are disposed.</summary>
    internal DeviceTensor Reshaped(int[] shape)
    {
        if (_disposed != 0) ThrowDisposed();
        Interlocked.Increment(ref Storage.Refs);
        return new DeviceTensor(Storage, shape, BytesPerElement);
    }

    /// <summary>Hands the buffer back to the pool once no other view of it is alive; a second call does nothing.</summary>
    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) Storage.RemoveRef();
        base.Dispose();
    }
}

/// <summary>
/// Reuses device buffers of equal length. A buffer is free again when the tensors lent its storage
/// are all disposed, which the model does for every intermediate; a storage garbage-collected
/// undisposed (tracked by a weak reference) frees its buffer too, later. The pool keeps the steady
/// state of a forward pass allocation-free.
/// </summary>
internal sealed class DeviceBufferPool(Accelerator accelerator) : IDisposable
{
    private sealed record Slot(MemoryBuffer1D<byte, Stride1D.Dense> Buffer, WeakReference<DeviceStorage> Owner);

    private readonly Dictionary<long, List<Slot>> _slots = new();
    private readonly object _lock = new();
    private bool _disposed;
    private int _live;

    /// <summary>
    /// Storages lent and not yet released by their tensors' disposal: what a forward pass leaves
    /// behind when it drops an intermediate undisposed (collected or not).
    /// </summary>
    public int LiveStorages => Volatile.Read(ref _live);

    /// <summary>Called by a storage when its last tensor is disposed.</summary>
    public void Returned() => Interlocked.Decrement(ref _live);

    /// <summary>A buffer of at least <paramref name="bytes"/> bytes (rounded up to whole words).</summary>
    public DeviceStorage Rent(long bytes)
    {
        long length = Math.Max(4, (bytes + 3) & ~3L);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_slots.TryGetValue(length, out var list)) _slots[length] = list = new List<Slot>();
            for (int i = 0; i < list.Count; i++)
            {
                var s = list[i];
                if (s.Owner.TryGetTarget(out var owner) && !owner.Released) continue;
                var storage = new DeviceStorage(s.Buffer, this);
                list[i] = s with { Owner = new WeakReference<DeviceStorage>(storage) };
                Interlocked.Increment(ref _live);
                return storage;
            }
            var buffer = Allocate(length);
            var fresh = new DeviceStorage(buffer, this);
            list.Add(new Slot(buffer, new WeakReference<DeviceStorage>(fresh)));
            Interlocked.Increment(ref _live);
            return fresh;
        }
    }

    private MemoryBuffer1D<byte, Stride1D.Dense> Allocate(long length)
    {
        try { return accelerator.Allocate1D<byte>(length); }
        catch (Exception e) when (e is OutOfMemoryException or AcceleratorException)
        {
            // Intermediates the model dropped become reusable only after a collection.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            FreeUnused();
            return accelerator.Allocate1D<byte>(length);
        }
    }

    /// <summary>Frees every buffer no live tensor uses.</summary>
    public void FreeUnused()
    {
        lock (_lock)
            foreach (var list in _slots.Values)
                list.RemoveAll(s =>
                {
                    bool free = !s.Owner.TryGetTarget(out var o) || o.Released;
                    if (free) s.Buffer.Dispose();
                    return free;
                });
    }

    /// <summary>Frees every buffer, lent or not; a second call does nothing.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var s in _slots.Values.SelectMany(l => l)) s.Buffer.Dispose();
            _slots.Clear();
        }
    }
}
