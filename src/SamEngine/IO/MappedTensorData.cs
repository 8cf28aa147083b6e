using System.Buffers;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace SamEngine.IO;

/// <summary>
/// The data section of a safetensors file, mapped read-only and shared with the page cache, so that
/// fp16 tensors are served in place: mapping costs no reads and no fresh pages, and each page is read
/// (from the cache) on first touch. <see cref="Dispose"/> (the file's) unmaps it; memory handed out
/// then throws <see cref="ObjectDisposedException"/> instead of reading unmapped pages, and a pinned
/// pointer keeps the pages mapped until it is unpinned. Never disposed, the mapping is released by
/// its view handle's finalizer once nothing references it.
/// </summary>
internal sealed unsafe class MappedTensorData : IDisposable
{
    // The view's handle counts references: a pin adds one, and unmapping waits for the last.
    private readonly SafeMemoryMappedViewHandle _view;
    private readonly byte* _start; // first byte of the data section
    private readonly long _length;

    private MappedTensorData(SafeMemoryMappedViewHandle view, byte* start, long length)
    {
        _view = view;
        _start = start;
        _length = length;
    }

    /// <summary>
    /// Maps <paramref name="length"/> bytes of <paramref name="file"/> from <paramref name="offset"/>,
    /// which the caller has checked against the file's length; null when there is nothing to map
    /// (the OS refuses empty mappings).
    /// </summary>
    public static MappedTensorData? Map(SafeFileHandle file, long offset, long length)
    {
        if (length == 0) return null;
        // The file mapping object may go right away: the view keeps its own reference to the file.
        using var mapping = MemoryMappedFile.CreateFromFile(file, mapName: null, capacity: 0,
            MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        // The accessor is not disposed: that would unmap the view, whose lifetime is this object's.
        var accessor = mapping.CreateViewAccessor(offset, length, MemoryMappedFileAccess.Read);
        var view = accessor.SafeMemoryMappedViewHandle;
        // No AcquirePointer: its reference would keep the finalizer from ever unmapping the view.
        byte* start = (byte*)view.DangerousGetHandle() + accessor.PointerOffset;
        return new MappedTensorData(view, start, length);
    }

    /// <summary>True once <see cref="Dispose"/> was called (the pages may still be pinned).</summary>
    public bool IsDisposed => _view.IsClosed;

    /// <summary>
    /// <paramref name="count"/> fp16 values at <paramref name="byteOffset"/> in the data section, in
    /// place; false when they are not 2-byte aligned in memory (the caller copies them instead).
    /// </summary>
    public bool TryGetHalfBits(long byteOffset, int count, out ReadOnlyMemory<ushort> bits)
    {
        if (IsDisposed) throw Released();
        if (byteOffset < 0 || count < 0 || byteOffset + 2L * count > _length)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"[{byteOffset}, +{2L * count}) is outside the {_length}-byte data section");
        byte* first = _start + byteOffset;
        bool aligned = ((nuint)first & 1) == 0;
        bits = aligned ? new HalfBitsMemory(this, (ushort*)first, count).Memory : default;
        return aligned;
    }

    private static ObjectDisposedException Released() =>
        new(nameof(MappedTensorData), "the weights were served from a safetensors file that was closed (its model or file was disposed)");

    /// <summary>
    /// Unmaps the data section, at once or, while a pointer from <see cref="Memory{T}.Pin"/> is held,
    /// when the last one is unpinned. A second call does nothing.
    /// </summary>
    public void Dispose() => _view.Dispose();

    /// <summary>
    /// fp16 values inside the mapping. It references the mapping, so an undisposed mapping stays
    /// while any <see cref="Memory{T}"/> over it is reachable. The span is writable only because
    /// <see cref="MemoryManager{T}"/> requires it: the pages are read-only, and writing faults.
    /// </summary>
    private sealed class HalfBitsMemory : MemoryManager<ushort>
    {
        private readonly MappedTensorData _mapping;
        private readonly ushort* _start;
        private readonly int _length;

        public HalfBitsMemory(MappedTensorData mapping, ushort* start, int length)
        {
            _mapping = mapping;
            _start = start;
            _length = length;
        }

        // A span cannot keep the pages mapped: the model must not be disposed while it reads them.
        public override Span<ushort> GetSpan()
        {
            if (_mapping.IsDisposed) throw Released();
            return new(_start, _length);
        }

        // Nothing to pin (mapped memory never moves), but the pages must stay mapped while the
        // pointer is used: the pin holds a reference on the view, which Unpin gives back.
        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));
            if (_mapping.IsDisposed) throw Released();
            bool added = false;
            _mapping._view.DangerousAddRef(ref added); // throws ObjectDisposedException if released since
            return new MemoryHandle(_start + elementIndex, pinnable: this);
        }

        public override void Unpin() => _mapping._view.DangerousRelease();

        // The mapping is shared by every tensor of the file and released with the file.
        protected override void Dispose(bool disposing) { }
    }
}
