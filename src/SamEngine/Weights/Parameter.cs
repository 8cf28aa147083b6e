namespace SamEngine.Weights;

/// <summary>
/// One named model weight, kept as IEEE fp16 bits: the single fp16 policy of the engine is that
/// weights live in memory as fp16 and every backend computes in fp32 (or fp16) over them. The bits are
/// an array or, for a checkpoint loaded from disk, read-only memory over the file's mapping, readable
/// until the model (or file) is disposed and throwing <see cref="ObjectDisposedException"/> after.
/// </summary>
public sealed class Parameter
{
    /// <summary>Creates a parameter from fp16 bit patterns in row-major order.</summary>
    public Parameter(string name, int[] shape, ushort[] halfBits) : this(name, shape, new ReadOnlyMemory<ushort>(halfBits)) { }

    /// <summary>
    /// Creates a parameter over fp16 bit patterns in row-major order held elsewhere (an array or a
    /// file mapping); the memory must stay unchanged for the parameter's lifetime.
    /// </summary>
    public Parameter(string name, int[] shape, ReadOnlyMemory<ushort> bits)
    {
        long n = ShapeUtil.Count(shape);
        if (n != bits.Length)
            throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] holds {n} values but {bits.Length} were given");
        Name = name;
        Shape = shape;
        Bits = bits;
    }

    /// <summary>The official state-dict name, e.g. <c>image_encoder.blocks.3.attn.qkv.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The tensor shape as in the official state dict.</summary>
    public int[] Shape { get; }

    /// <summary>
    /// Row-major fp16 bit patterns. Mapped memory is released when its model is disposed: take a span
    /// from it only for a read that ends before then (or pin it, which keeps the pages until unpinned).
    /// </summary>
    public ReadOnlyMemory<ushort> Bits { get; }

    /// <summary>Row-major fp16 bit patterns, <see cref="Bits"/> as a span.</summary>
    public ReadOnlySpan<ushort> HalfBits => Bits.Span;

    /// <summary>Number of elements.</summary>
    public int Length => Bits.Length;

    /// <summary>Upcasts to fp32 (exact: every fp16 value is a float32 value).</summary>
    public float[] ToFloat()
    {
        var r = new float[Length];
        Fp16.ToFloat(HalfBits, r);
        return r;
    }
}

/// <summary>Shape helpers shared by tensors and parameters.</summary>
public static class ShapeUtil
{
    /// <summary>
    /// Product of the dimensions (1 for a scalar). Throws <see cref="ArgumentException"/> naming the
    /// shape when a dimension is negative or the product does not fit in a long, so a size read from a
    /// file can neither wrap nor turn negative.
    /// </summary>
    public static long Count(ReadOnlySpan<int> shape)
    {
        bool empty = false;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"shape {Format(shape)} has a negative dimension");
            empty |= d == 0;
        }
        if (empty) return 0; // even when the other dimensions' product would overflow
        long n = 1;
        foreach (int d in shape)
        {
            if (n > long.MaxValue / d) throw new ArgumentException($"shape {Format(shape)} holds more than {long.MaxValue} values");
            n *= d;
        }
        return n;
    }

    /// <summary>Formats a shape as <c>[a, b, c]</c>.</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
