using SamEngine.Weights;

namespace SamEngine.Backends;

/// <summary>
/// An activation tensor owned by a backend (float32, row-major). The model only reads its shape;
/// its storage belongs to the backend that made it.
/// </summary>
public abstract class Tensor : IDisposable
{
    /// <summary>Creates a tensor handle of the given shape.</summary>
    protected Tensor(int[] shape)
    {
        Shape = shape;
        Length = checked((int)ShapeUtil.Count(shape));
    }

    /// <summary>The shape, outermost dimension first.</summary>
    public int[] Shape { get; }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>Size of dimension <paramref name="i"/>; negative counts from the end.</summary>
    public int Dim(int i) => Shape[i < 0 ? Shape.Length + i : i];

    /// <summary>Rank of the tensor.</summary>
    public int Rank => Shape.Length;

    /// <summary>Releases the tensor's storage to its backend; a second call does nothing.</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>Throws the error of a tensor read after <see cref="Dispose"/> (its storage may belong to another tensor by then).</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    protected void ThrowDisposed() => throw new ObjectDisposedException(ToString(), $"{this} was used after it was disposed");

    /// <inheritdoc />
    public override string ToString() => $"Tensor{ShapeUtil.Format(Shape)}";
}
