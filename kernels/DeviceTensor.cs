using ILGPU;
using ILGPU.Runtime;
using SamEngine.Backends;

namespace SamEngine.Kernels;

/// <summary>
/// Device memory behind one or more tensors (a reshape shares it). It owns no device memory itself:
/// <see cref="DeviceBufferPool"/> holds the buffer and hands it out again once this object is disposed or
/// collected, so device buffers are never freed by a finaliser racing a reuse.
/// </summary>
internal sealed class DeviceStorage(MemoryBuffer1D<byte, Stride1D.Dense> buffer)
{
    public MemoryBuffer1D<byte, Stride1D.Dense> Buffer { get; } = buffer;

    /// <summary>Set once the storage may be reused.</summary>
    public volatile bool Released;

    /// <summary>Live tensors over this storage (a reshape adds one); the last to be disposed releases it.</summary>
    public int Refs = 1;
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

    /// <summary>The tensor's raw device bytes; view them through the backend's activation format.</summary>
    public ArrayView<byte> Raw => Storage.Buffer.View;

    /// <summary>Another tensor over the same data, which stays alive until both are disposed.</summary>
    internal DeviceTensor Reshaped(int[] shape)
    {
        Interlocked.Increment(ref Storage.Refs);
        return new DeviceTensor(Storage, shape, BytesPerElement);
    }

    /// <summary>Hands the buffer back to the pool once no other view of it is alive.</summary>
    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && Interlocked.Decrement(ref Storage.Refs) == 0) Storage.Released = true;
        base.Dispose();
    }
}

/// <summary>
/// Reuses device buffers of equal length. A buffer is free again when the tensor storage it was lent
/// to was disposed or garbage-collected (tracked by a weak reference): the model never frees its
/// intermediates explicitly, and the pool keeps the steady state of a forward pass allocation-free.
/// </summary>
internal sealed class DeviceBufferPool(Accelerator accelerator) : IDisposable
{
    private sealed record Slot(MemoryBuffer1D<byte, Stride1D.Dense> Buffer, WeakReference<DeviceStorage> Owner);

    private readonly Dictionary<long, List<Slot>> _slots = new();
    private readonly object _lock = new();

    /// <summary>A buffer of at least <paramref name="bytes"/> bytes (rounded up to whole words).</summary>
    public DeviceStorage Rent(long bytes)
    {
        long length = Math.Max(4, (bytes + 3) & ~3L);
        lock (_lock)
        {
            if (!_slots.TryGetValue(length, out var list)) _slots[length] = list = new List<Slot>();
            for (int i = 0; i < list.Count; i++)
            {
                var s = list[i];
                if (s.Owner.TryGetTarget(out var owner) && !owner.Released) continue;
                var storage = new DeviceStorage(s.Buffer);
                list[i] = s with { Owner = new WeakReference<DeviceStorage>(storage) };
                return storage;
            }
            var buffer = Allocate(length);
            var fresh = new DeviceStorage(buffer);
            list.Add(new Slot(buffer, new WeakReference<DeviceStorage>(fresh)));
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

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var s in _slots.Values.SelectMany(l => l)) s.Buffer.Dispose();
            _slots.Clear();
        }
    }
}
