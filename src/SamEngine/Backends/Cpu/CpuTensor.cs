namespace SamEngine.Backends.Cpu;

/// <summary>A tensor in managed memory.</summary>
public sealed class CpuTensor : Tensor
{
    /// <summary>Wraps <paramref name="data"/> (not copied) with the given shape.</summary>
    public CpuTensor(float[] data, int[] shape) : base(shape)
    {
        if (data.Length < Length) throw new ArgumentException($"buffer of {data.Length} floats is too small for shape [{string.Join(", ", shape)}]");
        Data = data;
    }

    /// <summary>Allocates a zeroed tensor.</summary>
    public CpuTensor(params int[] shape) : this(new float[checked((int)Weights.ShapeUtil.Count(shape))], shape) { }

    /// <summary>A tensor whose buffer is not zeroed: for op outputs that are written in full.</summary>
    internal static CpuTensor Uninitialized(params int[] shape) =>
        new(GC.AllocateUninitializedArray<float>(checked((int)Weights.ShapeUtil.Count(shape))), shape);

    /// <summary>Row-major values.</summary>
    public float[] Data { get; }

    /// <summary>The values as a span of exactly <see cref="Tensor.Length"/> elements.</summary>
    public Span<float> Span => Data.AsSpan(0, Length);
}
