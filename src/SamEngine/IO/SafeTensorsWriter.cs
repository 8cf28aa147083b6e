using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace SamEngine.IO;

/// <summary>
/// Collects tensors and writes them as one safetensors file, byte-identical to the fixture tool
/// (<c>make_fixtures.py save_safetensors</c>): tensors sorted by name in code-point order, compact JSON as
/// Python's <c>json.dumps(hdr, separators=(",", ":"))</c> writes it, header padded with spaces to a
/// multiple of 8, data in header order.
/// </summary>
public sealed class SafeTensorsWriter
{
    private readonly Dictionary<string, (SafeTensorDType DType, int[] Shape, byte[] Data)> _tensors = new(StringComparer.Ordinal);

    /// <summary>Adds a tensor from its raw little-endian bytes (copied).</summary>
    public void Add(string name, SafeTensorDType dtype, int[] shape, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved for the metadata map", nameof(name));
        if (_tensors.ContainsKey(name)) throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        long expected = dtype.ElementSize();
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}': negative dimension {d}", nameof(shape));
            expected = checked(expected * d);
        }
        if (data.Length != expected)
            throw new ArgumentException($"tensor '{name}': {data.Length} bytes given but shape {Weights.ShapeUtil.Format(shape)} of {dtype} needs {expected}", nameof(data));
        _tensors.Add(name, (dtype, (int[])shape.Clone(), data.ToArray()));
    }

    /// <summary>Adds an F32 tensor.</summary>
    public void AddFloat32(string name, int[] shape, float[] values) =>
        Add(name, SafeTensorDType.F32, shape, MemoryMarshal.AsBytes(values.AsSpan()));

    /// <summary>Adds an F16 tensor from fp16 bit patterns.</summary>
    public void AddHalf(string name, int[] shape, ushort[] halfBits) =>
        Add(name, SafeTensorDType.F16, shape, MemoryMarshal.AsBytes(halfBits.AsSpan()));

    /// <summary>Adds a U8 tensor.</summary>
    public void AddUInt8(string name, int[] shape, byte[] values) => Add(name, SafeTensorDType.U8, shape, values);

    /// <summary>
    /// Writes the file atomically: to a temporary file in the same folder, then moved over
    /// <paramref name="path"/>; a failure leaves no partial output. Metadata keys keep their enumeration
    /// order; empty metadata is omitted, as the fixture tool does.
    /// </summary>
    public void Write(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        string full = System.IO.Path.GetFullPath(path);
        string dir = System.IO.Path.GetDirectoryName(full)!;
        string temp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
                Write(fs, metadata);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes the file's bytes to <paramref name="stream"/> (e.g. an HTTP response), as <see cref="Write(string, IReadOnlyDictionary{string, string}?)"/> lays them out.</summary>
    public void Write(Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = _tensors.Keys.OrderBy(n => n, CodePointComparer.Instance).ToList();
        byte[] header = BuildHeader(names, metadata);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        stream.Write(len);
        stream.Write(header);
        foreach (var n in names) stream.Write(_tensors[n].Data);
    }

    private byte[] BuildHeader(List<string> names, IReadOnlyDictionary<string, string>? metadata)
    {
        var sb = new StringBuilder("{");
        long offset = 0;
        bool first = true;
        foreach (var n in names)
        {
            var (dtype, shape, data) = _tensors[n];
            if (!first) sb.Append(',');
            first = false;
            PyJson.AppendString(sb, n);
            sb.Append(":{\"dtype\":");
            PyJson.AppendString(sb, dtype.HeaderName());
            sb.Append(",\"shape\":[").AppendJoin(',', shape).Append("],\"data_offsets\":[");
            sb.Append(offset).Append(',').Append(offset + data.Length).Append("]}");
            offset += data.Length;
        }
        if (metadata is { Count: > 0 })
        {
            if (!first) sb.Append(',');
            sb.Append("\"__metadata__\":{");
            bool firstMeta = true;
            foreach (var (k, v) in metadata)
            {
                if (!firstMeta) sb.Append(',');
                firstMeta = false;
                PyJson.AppendString(sb, k);
                sb.Append(':');
                PyJson.AppendString(sb, v);
            }
            sb.Append('}');
        }
        sb.Append('}');
        int pad = (8 - sb.Length % 8) % 8; // the JSON is pure ASCII, so chars == bytes
        sb.Append(' ', pad);
        return Encoding.ASCII.GetBytes(sb.ToString());
    }
}

/// <summary>JSON string escaping exactly as Python's <c>json.dumps</c> with the default <c>ensure_ascii=True</c>.</summary>
internal static class PyJson
{
    public static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    // Python escapes everything outside ' '..'~'; astral characters become their UTF-16
                    // surrogate pair, which is exactly what iterating a .NET string yields.
                    if (c < ' ' || c > '~') sb.Append("\\u").Append(((int)c).ToString("x4"));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}

/// <summary>Orders strings by Unicode code point, as Python's <c>sorted</c> does (ordinal UTF-16 differs above U+D7FF).</summary>
internal sealed class CodePointComparer : IComparer<string>
{
    public static readonly CodePointComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            int c = NextCodePoint(x, ref i).CompareTo(NextCodePoint(y, ref j));
            if (c != 0) return c;
        }
        return (i < x.Length).CompareTo(j < y.Length);
    }

    // A lone surrogate counts as its own code point, as in Python strings.
    private static int NextCodePoint(string s, ref int i)
    {
        char c = s[i++];
        if (char.IsHighSurrogate(c) && i < s.Length && char.IsLowSurrogate(s[i]))
            return char.ConvertToUtf32(c, s[i++]);
        return c;
    }
}
