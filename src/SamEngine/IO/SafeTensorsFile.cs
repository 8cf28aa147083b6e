using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SamEngine.Weights;

namespace SamEngine.IO;

/// <summary>
/// A safetensors file, open for reading. The header is validated completely at <see cref="Open"/>,
/// and the data section is then mapped read-only: <see cref="ReadHalfBits"/> serves F16 tensors from
/// the mapping without copying, so loading touches no weight bytes and needs no fresh memory; pages are
/// read from the page cache on first use and shared with it (they count in the resident set once
/// touched, as the weights would anyway). Tensors that must be converted (or F16 data at an odd
/// offset) are read with positioned reads into fresh arrays instead, so converting a wider checkpoint
/// does not keep its pages resident through the mapping. Memory served from the mapping is valid until
/// the file is disposed, which unmaps it: reading it afterwards throws <see cref="ObjectDisposedException"/>.
/// (A file never disposed stays mapped while anything references that memory.) The file must not be
/// truncated in place while mapped (reading a vanished page kills the process); the writer replaces
/// files by renaming, which is safe. Multi-byte values are little-endian as the format requires (the
/// engine runs on little-endian hosts only).
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly long _dataStart; // file offset of the data section
    private MappedTensorData? _data; // null when the data section is empty, or once disposed
    private readonly Dictionary<string, SafeTensorInfo> _tensors;
    private bool _disposed;

    private SafeTensorsFile(string path, SafeFileHandle handle, long dataStart, MappedTensorData? data,
        Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        _dataStart = dataStart;
        _data = data;
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>Every tensor in the file by name.</summary>
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors => _tensors;

    /// <summary>The <c>__metadata__</c> string map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates <paramref name="path"/>; throws <see cref="SafeTensorsException"/> if malformed.</summary>
    public static SafeTensorsFile Open(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8)
                throw SafeTensorsException.File(path, $"file is {fileLength} bytes, shorter than the 8-byte header length");
            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(handle, prefix, 0);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > SafeTensorsHeader.MaxHeaderBytes)
                throw SafeTensorsException.File(path, $"header length {headerLength} is absurd (over {SafeTensorsHeader.MaxHeaderBytes} bytes)");
            if ((long)headerLength > fileLength - 8)
                throw SafeTensorsException.File(path, $"header length {headerLength} goes beyond the end of the {fileLength}-byte file");

            var header = new byte[headerLength];
            try { ReadExactly(handle, header, 8); }
            catch (EndOfStreamException e) { throw SafeTensorsException.File(path, e.Message, e); }
            long dataLength = fileLength - 8 - (long)headerLength;
            var (tensors, metadata) = SafeTensorsHeader.Parse(path, header, dataLength);
            long dataStart = 8 + (long)headerLength;
            var data = MappedTensorData.Map(handle, dataStart, dataLength);
            return new SafeTensorsFile(path, handle, dataStart, data, tensors, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>True when the file holds a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>The header entry of <paramref name="name"/>; throws naming the file and tensor if absent.</summary>
    public SafeTensorInfo Info(string name) =>
        _tensors.TryGetValue(name, out var info)
            ? info
            : throw SafeTensorsException.Tensor(Path, name, "no such tensor in the file");

    /// <summary>The raw little-endian bytes of a tensor (a copy).</summary>
    public byte[] GetBytes(string name) => Bytes(Info(name));

    /// <summary>The tensor converted to float32 (any numeric dtype; BOOL gives 0 or 1).</summary>
    public float[] ReadFloat32(string name)
    {
        var info = Info(name);
        ReadOnlySpan<byte> src = Bytes(info);
        var dst = new float[CheckedCount(info)];
        switch (info.DType)
        {
            case SafeTensorDType.F32: src.CopyTo(MemoryMarshal.AsBytes(dst.AsSpan())); break;
            case SafeTensorDType.F16: for (int i = 0; i < dst.Length; i++) dst[i] = Fp16.ToFloat(U16(src, i)); break;
            case SafeTensorDType.BF16: for (int i = 0; i < dst.Length; i++) dst[i] = Fp16.BFloat16ToFloat(U16(src, i)); break;
            case SafeTensorDType.F64: for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..]); break;
            case SafeTensorDType.U8: for (int i = 0; i < dst.Length; i++) dst[i] = src[i]; break;
            case SafeTensorDType.BOOL: for (int i = 0; i < dst.Length; i++) dst[i] = src[i] != 0 ? 1f : 0f; break;
            case SafeTensorDType.I8: for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)src[i]; break;
            case SafeTensorDType.I32: for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt32LittleEndian(src[(4 * i)..]); break;
            case SafeTensorDType.I64: for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt64LittleEndian(src[(8 * i)..]); break;
            default: throw new NotSupportedException(info.DType.ToString());
        }
        return dst;
    }

    /// <summary>
    /// The tensor as fp16 bits: F16 as stored, in place in the file's mapping when 2-byte aligned;
    /// F32, F64 and BF16 rounded to nearest even into a new array. Integer and BOOL tensors throw.
    /// Mapped memory is readable until this file is disposed.
    /// </summary>
    public ReadOnlyMemory<ushort> ReadHalfBits(string name)
    {
        var info = Info(name);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (info.DType == SafeTensorDType.F16)
        {
            if (_data is not null && _data.TryGetHalfBits(info.Begin, CheckedCount(info), out var mapped)) return mapped;
            // Misaligned: read straight into the array, no staging copy and no zeroing first.
            var bits = GC.AllocateUninitializedArray<ushort>(CheckedCount(info));
            Read(info, MemoryMarshal.AsBytes(bits.AsSpan()));
            return bits;
        }
        ReadOnlySpan<byte> src = Bytes(info);
        var dst = new ushort[CheckedCount(info)];
        switch (info.DType)
        {
            case SafeTensorDType.BF16: for (int i = 0; i < dst.Length; i++) dst[i] = Fp16.FromFloat(Fp16.BFloat16ToFloat(U16(src, i))); break;
            case SafeTensorDType.F32: for (int i = 0; i < dst.Length; i++) dst[i] = Fp16.FromFloat(BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..])); break;
            // double -> Half directly: going through float would round twice.
            case SafeTensorDType.F64: for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.HalfToUInt16Bits((Half)BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..])); break;
            default: throw SafeTensorsException.Tensor(Path, name, $"dtype {info.DType} cannot be read as float16");
        }
        return dst;
    }

    /// <summary>The bytes of a U8 or BOOL tensor.</summary>
    public byte[] ReadUInt8(string name)
    {
        var info = Info(name);
        if (info.DType is not (SafeTensorDType.U8 or SafeTensorDType.BOOL))
            throw SafeTensorsException.Tensor(Path, name, $"dtype {info.DType} cannot be read as uint8 (U8 or BOOL only)");
        return Bytes(info);
    }

    /// <summary>
    /// Closes the file and unmaps its data section: memory from <see cref="ReadHalfBits"/> throws
    /// <see cref="ObjectDisposedException"/> from now on (a pinned pointer keeps its pages until
    /// unpinned). A second call does nothing.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _data?.Dispose();
        _data = null;
        _handle.Dispose();
    }

    private byte[] Bytes(SafeTensorInfo info)
    {
        if (info.ByteLength > Array.MaxLength)
            throw SafeTensorsException.Tensor(Path, info.Name, $"{info.ByteLength} bytes is too large for one array");
        var bytes = GC.AllocateUninitializedArray<byte>((int)info.ByteLength);
        Read(info, bytes);
        return bytes;
    }

    private void Read(SafeTensorInfo info, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // The header was checked against the file's length at Open; the file can still shrink after.
        try { ReadExactly(_handle, destination, _dataStart + info.Begin); }
        catch (EndOfStreamException e) { throw SafeTensorsException.Tensor(Path, info.Name, e.Message, e); }
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        while (destination.Length > 0)
        {
            int n = RandomAccess.Read(handle, destination, offset);
            if (n <= 0) throw new EndOfStreamException($"the file ended at byte {offset}, before the data its header describes");
            destination = destination[n..];
            offset += n;
        }
    }

    private int CheckedCount(SafeTensorInfo info)
    {
        long n = info.ElementCount;
        if (n > Array.MaxLength)
            throw SafeTensorsException.Tensor(Path, info.Name, $"{n} elements is too many for one array");
        return (int)n;
    }

    private static ushort U16(ReadOnlySpan<byte> src, int i) => BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]);
}
