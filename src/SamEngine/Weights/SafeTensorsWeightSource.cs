using SamEngine.IO;

namespace SamEngine.Weights;

/// <summary>
/// Weights from a safetensors checkpoint. Floating-point tensors of any width become fp16 bits
/// (round to nearest even); each request is checked against the architecture's shape. F16 tensors are
/// served in place from the file's read-only mapping: disposing a source that owns its file unmaps it,
/// and reading those parameters then throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class SafeTensorsWeightSource : IWeightSource, IDisposable
{
    private readonly bool _ownsFile;

    /// <summary>Wraps an open file; disposes it with this source when <paramref name="ownsFile"/> is true.</summary>
    public SafeTensorsWeightSource(SafeTensorsFile file, bool ownsFile = true)
    {
        File = file;
        _ownsFile = ownsFile;
    }

    /// <summary>Opens the checkpoint at <paramref name="path"/>.</summary>
    public static SafeTensorsWeightSource Open(string path) => new(SafeTensorsFile.Open(path), ownsFile: true);

    /// <summary>The underlying file.</summary>
    public SafeTensorsFile File { get; }

    /// <inheritdoc/>
    public IEnumerable<string> Names => File.Tensors.Keys;

    /// <inheritdoc/>
    public Parameter Get(string name, int[] shape)
    {
        if (!File.Tensors.TryGetValue(name, out var info))
            throw new WeightException($"missing tensor '{name}'");
        if (!info.Shape.AsSpan().SequenceEqual(shape))
            throw new WeightException($"tensor '{name}' has shape {ShapeUtil.Format(info.Shape)} but the architecture needs {ShapeUtil.Format(shape)}");
        if (!info.DType.IsFloatingPoint())
            throw new WeightException($"tensor '{name}' has dtype {info.DType}, but weights must be F16, BF16, F32 or F64");
        return new Parameter(name, info.Shape, File.ReadHalfBits(name));
    }

    /// <summary>Closes the file when this source owns it (see <see cref="SafeTensorsFile.Dispose"/>); a second call does nothing.</summary>
    public void Dispose()
    {
        if (_ownsFile) File.Dispose();
    }
}
