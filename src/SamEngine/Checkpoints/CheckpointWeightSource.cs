using SamEngine.IO;
using SamEngine.Weights;

namespace SamEngine.Checkpoints;

/// <summary>
/// Weights read from a checkpoint through a <see cref="CheckpointReader"/> (a PyTorch <c>.pth</c> used
/// directly as a model) and rounded to fp16 in memory exactly as <see cref="CheckpointConverter.Convert"/>
/// writes them, one tensor at a time as the model asks for it: loading holds the fp16 weights plus one
/// tensor's worth of the file's values, never a second copy of the model.
/// </summary>
internal sealed class CheckpointWeightSource(CheckpointReader reader) : IWeightSource
{
    private readonly Dictionary<string, CheckpointTensor> _tensors = reader.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Every tensor's shape by name, for inferring the architecture.</summary>
    public IReadOnlyDictionary<string, int[]> Shapes => _tensors.ToDictionary(t => t.Key, t => t.Value.Shape, StringComparer.Ordinal);

    /// <inheritdoc/>
    public IEnumerable<string> Names => _tensors.Keys;

    /// <inheritdoc/>
    public Parameter Get(string name, int[] shape)
    {
        if (!_tensors.TryGetValue(name, out var t))
            throw new WeightException($"missing tensor '{name}'");
        if (!t.Shape.AsSpan().SequenceEqual(shape))
            throw new WeightException($"tensor '{name}' has shape {ShapeUtil.Format(t.Shape)} but the architecture needs {ShapeUtil.Format(shape)}");
        if (!t.DType.IsFloatingPoint())
            throw new WeightException($"tensor '{name}' has dtype {t.DType}, but weights must be F16, BF16, F32 or F64");
        return new Parameter(name, t.Shape, CheckpointConverter.ToHalfBits(reader.ReadBytes(t), t.DType));
    }
}
