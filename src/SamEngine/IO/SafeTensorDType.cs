namespace SamEngine.IO;

/// <summary>Element types of the safetensors format that SamEngine reads and writes.</summary>
public enum SafeTensorDType
{
    /// <summary>IEEE half precision.</summary>
    F16,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>IEEE single precision.</summary>
    F32,
    /// <summary>IEEE double precision.</summary>
    F64,
    /// <summary>unsigned byte.</summary>
    U8,
    /// <summary>signed byte.</summary>
    I8,
    /// <summary>32-bit signed integer.</summary>
    I32,
    /// <summary>64-bit signed integer.</summary>
    I64,
    /// <summary>boolean stored as one byte.</summary>
    BOOL,
}

/// <summary>Helpers for <see cref="SafeTensorDType"/>.</summary>
public static class SafeTensorDTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.U8 or SafeTensorDType.I8 or SafeTensorDType.BOOL => 1,
        SafeTensorDType.F16 or SafeTensorDType.BF16 => 2,
        SafeTensorDType.F32 or SafeTensorDType.I32 => 4,
        SafeTensorDType.F64 or SafeTensorDType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>True for F16, BF16, F32 and F64.</summary>
    public static bool IsFloatingPoint(this SafeTensorDType dtype) =>
        dtype is SafeTensorDType.F16 or SafeTensorDType.BF16 or SafeTensorDType.F32 or SafeTensorDType.F64;

    /// <summary>The name used in the file header (e.g. <c>"F16"</c>).</summary>
    public static string HeaderName(this SafeTensorDType dtype) => dtype.ToString();

    /// <summary>Parses a header dtype name exactly (no case folding, no numeric values).</summary>
    public static bool TryParseHeaderName(string name, out SafeTensorDType dtype)
    {
        // Enum.TryParse would also accept "1" or "f16"; the format only has these exact spellings.
        foreach (var d in Enum.GetValues<SafeTensorDType>())
        {
            if (string.Equals(d.ToString(), name, StringComparison.Ordinal))
            {
                dtype = d;
                return true;
            }
        }
        dtype = default;
        return false;
    }
}

/// <summary>Where one tensor lies in a safetensors file; offsets are relative to the data section.</summary>
public sealed record SafeTensorInfo(string Name, SafeTensorDType DType, int[] Shape, long Begin, long End)
{
    /// <summary>Number of elements (product of the shape; 1 for a scalar).</summary>
    public long ElementCount => Weights.ShapeUtil.Count(Shape);

    /// <summary>Number of bytes in the data section.</summary>
    public long ByteLength => End - Begin;
}

/// <summary>A malformed or unusable safetensors file; the message names the file and, where relevant, the tensor.</summary>
public sealed class SafeTensorsException : Exception
{
    /// <summary>Creates the exception with a message naming the file (and tensor).</summary>
    public SafeTensorsException(string message, Exception? inner = null) : base(message, inner) { }

    internal static SafeTensorsException File(string path, string problem, Exception? inner = null) =>
        new($"safetensors file '{path}': {problem}", inner);

    internal static SafeTensorsException Tensor(string path, string tensor, string problem, Exception? inner = null) =>
        new($"safetensors file '{path}', tensor '{tensor}': {problem}", inner);
}
