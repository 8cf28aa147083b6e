using System.Buffers;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace SamEngine.IO;

/// <summary>
/// The data section of a safetensors file, mapped read-only and shared with the page cache, so that
/// fp16 tensors are served in place: mapping costs no reads and no fresh pages, and each page is read
/// (from the cache) on first touch. The mapping is released by its view handle's finalizer once
/// neither the file nor any memory handed out references it; nothing disposes it earlier, so memory
/// handed out stays valid after the file is disposed.
/// </summary>
internal sealed unsafe class MappedTensorData
{
    // Held only to keep the view mapped: its finalizer unmaps once this object is unreachable.
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

    /// <summary>
    /// <paramref name="count"/> fp16 values at <paramref name="byteOffset"/> in the data section, in
    /// place; false when they are not 2-byte aligned in memory (the caller copies them instead).
    /// </summary>
    public bool TryGetHalfBits(long byteOffset, int count, out ReadOnlyMemory<ushort> bits)
    {
        if (byteOffset < 0 || count < 0 || byteOffset + 2L * count > _length)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"[{byteOffset}, +{2L * count}) is outside the {_length}-byte data section");
        byte* first = _start + byteOffset;
        bool aligned = ((nuint)first & 1) == 0;
        bits = aligned ? new HalfBitsMemory(this, (ushort*)first, count).Memory : default;
        return aligned;
    }

    /// <summary>
    /// fp16 values inside the mapping. It references the mapping, so the memory stays mapped while
    /// any <see cref="Memory{T}"/> over it is reachable. The span is writable only because
    /// <see cref="MemoryManager{T}"/> requires it: the pages are read-only, and writing faults.
    /// </summary>
    private sealed class HalfBitsMemory : MemoryManager<ushort>
    {
        private readonly MappedTensorData _mapping; // held to keep the pages mapped
        private readonly ushort* _start;
        private readonly int _length;

        public HalfBitsMemory(MappedTensorData mapping, ushort* start, int length)
        {
            _mapping = mapping;
            _start = start;
            _length = length;
        }

        public override Span<ushort> GetSpan() => new(_start, _length);

        // Nothing to pin: mapped memory never moves. The handle references this object, and so the
        // mapping, while the pointer is in use.
        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));
            return new MemoryHandle(_start + elementIndex, pinnable: this);
        }

        public override void Unpin() { }

        // The mapping is shared by every tensor of the file and released only when unreachable.
        protected override void Dispose(bool disposing) { }
    }
}
