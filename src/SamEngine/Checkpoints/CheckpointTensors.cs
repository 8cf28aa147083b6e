using System.IO.Compression;
using SamEngine.IO;
using SamEngine.Weights;

namespace SamEngine.Checkpoints;

/// <summary>One tensor of an input checkpoint: its name, element type and shape.</summary>
public sealed record CheckpointTensor(string Name, SafeTensorDType DType, int[] Shape);

/// <summary>
/// The tensors of an input checkpoint, read one at a time (so converting ViT-H never holds the whole
/// fp32 file in memory): a PyTorch <c>.pth</c> zip or a safetensors file.
/// </summary>
public abstract class CheckpointReader : IDisposable
{
    /// <summary>The tensors, in file order.</summary>
    public abstract IReadOnlyList<CheckpointTensor> Tensors { get; }

    /// <summary>The tensor's elements, contiguous, row-major, little-endian, in its own dtype.</summary>
    public abstract byte[] ReadBytes(CheckpointTensor tensor);

    /// <inheritdoc />
    public abstract void Dispose();

    /// <summary>Opens <paramref name="path"/> by its content: a zip (PyTorch) or safetensors.</summary>
    public static CheckpointReader Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{path}' does not exist");
        Span<byte> magic = stackalloc byte[4];
        int n;
        using (var fs = File.OpenRead(path)) n = fs.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        if (n == 4 && magic.SequenceEqual("PK\x03\x04"u8)) return new TorchZipReader(path);
        if (n >= 2 && magic[0] == 0x80 && magic[1] <= 5)
            throw new CheckpointException($"'{path}' is a legacy (pre-1.6, non-zip) PyTorch checkpoint; re-save it with a current torch.save");
        return new SafeTensorsReader(path);
    }
}

/// <summary>A safetensors checkpoint as a <see cref="CheckpointReader"/>.</summary>
internal sealed class SafeTensorsReader : CheckpointReader
{
    private readonly SafeTensorsFile _file;

    public SafeTensorsReader(string path)
    {
        _file = SafeTensorsFile.Open(path);
        Tensors = _file.Tensors.Values.OrderBy(t => t.Begin).Select(t => new CheckpointTensor(t.Name, t.DType, t.Shape)).ToList();
    }

    public override IReadOnlyList<CheckpointTensor> Tensors { get; }

    /// <summary>The architecture in the file's <c>sam_architecture</c> metadata, if any.</summary>
    public Config.SamArchitecture? Architecture =>
        _file.Metadata.TryGetValue("sam_architecture", out var json) ? Config.SamArchitecture.FromJson(json) : null;

    public override byte[] ReadBytes(CheckpointTensor tensor) => _file.GetBytes(tensor.Name).ToArray();

    public override void Dispose() => _file.Dispose();
}

/// <summary>
/// A <c>torch.save</c> zip: <c>&lt;root&gt;/data.pkl</c> (the state dict, read by
/// <see cref="StateDictUnpickler"/>) and one entry <c>&lt;root&gt;/data/&lt;key&gt;</c> per storage.
/// </summary>
internal sealed class TorchZipReader : CheckpointReader
{
    private readonly string _path;
    private readonly ZipArchive _zip;
    private readonly string _root;
    private readonly Dictionary<string, TensorRef> _refs = new(StringComparer.Ordinal);

    public TorchZipReader(string path)
    {
        _path = path;
        try
        {
            _zip = ZipFile.OpenRead(path);
            var pkl = _zip.Entries.Where(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
            if (pkl.Count != 1) throw new CheckpointException($"'{path}' is a zip but not a PyTorch checkpoint (no single <root>/data.pkl)");
            _root = pkl[0].FullName[..^"data.pkl".Length];
            if (_zip.GetEntry(_root + "byteorder") is { } bo && ReadEntry(bo, 16) is var order && System.Text.Encoding.ASCII.GetString(order) != "little")
                throw new CheckpointException($"'{path}' stores big-endian tensors, which are not supported");
            var tensors = new List<CheckpointTensor>();
            foreach (var (name, t) in StateDictUnpickler.Read(ReadEntry(pkl[0], 1L << 30), path))
            {
                if (!_refs.TryAdd(name, t)) throw new CheckpointException($"'{path}': tensor '{name}' appears twice");
                tensors.Add(new CheckpointTensor(name, t.Storage.DType, t.Shape));
            }
            Tensors = tensors;
        }
        catch (InvalidDataException e)
        {
            _zip?.Dispose();
            throw new CheckpointException($"'{path}' is corrupt or truncated: {e.Message}", e);
        }
    }

    public override IReadOnlyList<CheckpointTensor> Tensors { get; }

    public override byte[] ReadBytes(CheckpointTensor tensor)
    {
        var t = _refs[tensor.Name];
        int es = t.Storage.DType.ElementSize();
        var entry = _zip.GetEntry($"{_root}data/{t.Storage.Key}")
            ?? throw new CheckpointException($"'{_path}': storage '{t.Storage.Key}' of tensor '{tensor.Name}' is missing");
        byte[] storage;
        try { storage = ReadEntry(entry, t.Storage.ElementCount * es); }
        catch (InvalidDataException e) { throw new CheckpointException($"'{_path}': storage of tensor '{tensor.Name}' is corrupt: {e.Message}", e); }
        if (storage.Length != t.Storage.ElementCount * es)
            throw new CheckpointException($"'{_path}': storage of tensor '{tensor.Name}' has {storage.Length} bytes, expected {t.Storage.ElementCount * es}");
        return Gather(storage, t, es, tensor.Name);
    }

    /// <summary>Copies a strided view of a storage into a contiguous row-major array, checking every bound.</summary>
    private byte[] Gather(byte[] storage, TensorRef t, int es, string name)
    {
        long count = ShapeUtil.Count(t.Shape);
        var dst = new byte[count * es];
        if (count == 0) return dst;
        long last = t.Offset + t.Shape.Select((d, i) => (d - 1) * t.Stride[i]).Sum();
        if (t.Offset < 0 || last >= t.Storage.ElementCount)
            throw new CheckpointException($"'{_path}': tensor '{name}' reaches outside its storage");
        if (IsContiguous(t.Shape, t.Stride))
        {
            Buffer.BlockCopy(storage, (int)(t.Offset * es), dst, 0, dst.Length);
            return dst;
        }
        var index = new int[t.Shape.Length];
        for (long i = 0; i < count; i++)
        {
            long src = t.Offset;
            for (int d = 0; d < index.Length; d++) src += index[d] * t.Stride[d];
            Buffer.BlockCopy(storage, (int)(src * es), dst, (int)(i * es), es);
            for (int d = index.Length - 1; d >= 0 && ++index[d] == t.Shape[d]; d--) index[d] = 0;
        }
        return dst;
    }

    private static bool IsContiguous(int[] shape, long[] stride)
    {
        long expected = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1 && stride[d] != expected) return false;
            expected *= shape[d];
        }
        return true;
    }

    private byte[] ReadEntry(ZipArchiveEntry entry, long maxBytes)
    {
        if (entry.Length > maxBytes || entry.Length > Array.MaxLength)
            throw new CheckpointException($"'{_path}': entry '{entry.FullName}' is {entry.Length} bytes, more than expected");
        var buffer = new byte[entry.Length];
        using var s = entry.Open();
        int n = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (n != buffer.Length) throw new CheckpointException($"'{_path}': entry '{entry.FullName}' is truncated");
        return buffer;
    }

    public override void Dispose() => _zip.Dispose();
}
