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

    /// <summary>
    /// SAM 2.x's video-only tensors the file held (memory attention, memory encoder, object pointers...):
    /// left out of <see cref="Tensors"/>, as the image path has no use for them.
    /// </summary>
    public virtual IReadOnlyList<string> IgnoredVideoTensors => [];

    /// <summary>MobileSAM tensors SAM never reads (see <see cref="MobileSamUnusedTensors"/>), left out of <see cref="Tensors"/>.</summary>
    public virtual IReadOnlyList<string> IgnoredUnusedTensors => [];

    /// <summary>The tensor's elements, contiguous, row-major, little-endian, in its own dtype.</summary>
    public abstract byte[] ReadBytes(CheckpointTensor tensor);

    /// <inheritdoc />
    public abstract void Dispose();

    /// <summary>
    /// Opens <paramref name="path"/> by its content: a PyTorch zip or safetensors. Anything else is
    /// refused with a <see cref="CheckpointException"/> that says which formats are accepted.
    /// </summary>
    public static CheckpointReader Open(string path) =>
        FormatOf(path) == CheckpointFormat.PyTorch ? new TorchZipReader(path) : new SafeTensorsReader(path);

    /// <summary>
    /// Tells the two accepted formats apart by their first bytes: a zip signature for a PyTorch
    /// checkpoint; an 8-byte header length followed by '{' (or the .safetensors extension, so that a
    /// damaged safetensors file gets the safetensors reader's precise error) for safetensors.
    /// </summary>
    internal static CheckpointFormat FormatOf(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{path}' does not exist");
        Span<byte> head = stackalloc byte[9];
        int n;
        using (var fs = File.OpenRead(path)) n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n >= 4 && head[..4].SequenceEqual("PK\x03\x04"u8)) return CheckpointFormat.PyTorch;
        // Before the pickle test: a safetensors header length such as 128 also starts with 0x80.
        if (n == 9 && head[8] == (byte)'{') return CheckpointFormat.SafeTensors;
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
            throw new CheckpointException($"'{path}' is a legacy (pre-1.6, non-zip) PyTorch checkpoint; re-save it with a current torch.save");
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return CheckpointFormat.SafeTensors;
        throw new CheckpointException($"'{path}' is neither a safetensors file nor a PyTorch checkpoint (a torch.save zip such as sam_vit_b_01ec64.pth); those are the formats a model can be loaded from");
    }
}

/// <summary>The checkpoint formats <see cref="CheckpointReader.Open"/> reads.</summary>
internal enum CheckpointFormat
{
    /// <summary>A safetensors file.</summary>
    SafeTensors,
    /// <summary>A <c>torch.save</c> zip (.pth).</summary>
    PyTorch,
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
    public Config.SamArchitecture? Architecture => StoredArchitecture(_file);

    /// <summary>
    /// The architecture in a safetensors file's <c>sam_architecture</c> metadata (written by
    /// <c>convert</c>), or null; metadata that is not a valid architecture is a <see cref="CheckpointException"/> naming the file.
    /// </summary>
    public static Config.SamArchitecture? StoredArchitecture(SafeTensorsFile file)
    {
        if (!file.Metadata.TryGetValue("sam_architecture", out var json)) return null;
        try { return Config.SamArchitecture.FromJson(json); }
        catch (ArgumentException e) { throw new CheckpointException($"'{file.Path}': its sam_architecture metadata is not a valid architecture: {e.Message}", e); }
    }

    public override byte[] ReadBytes(CheckpointTensor tensor) => _file.GetBytes(tensor.Name).ToArray();

    public override void Dispose() => _file.Dispose();
}

/// <summary>
/// A <c>torch.save</c> zip: <c>&lt;root&gt;/data.pkl</c> (the state dict, read by
/// <see cref="StateDictUnpickler"/>) and one entry <c>&lt;root&gt;/data/&lt;key&gt;</c> per storage.
/// Every size the file claims (entry lengths, storage sizes, views' shapes, strides and offsets) is
/// checked before it is used, so a corrupt or hostile file gets a <see cref="CheckpointException"/>
/// naming the file and tensor, never an overflow or an allocation the size of the claim.
/// </summary>
internal sealed class TorchZipReader : CheckpointReader
{
    /// <summary>Deflate expands at most about 1032-fold; a larger claimed size is a lie.</summary>
    private const long MaxDeflateRatio = 1032;

    /// <summary>
    /// A state dict's pickle is small (ViT-H's is about 100 KB); a larger one is refused before it is
    /// read, which also bounds what unpickling can hold on its stack.
    /// </summary>
    internal const long MaxPickleBytes = 16L << 20;

    private readonly string _path;
    private readonly long _fileLength;
    private readonly ZipArchive _zip;
    private readonly string _root;
    private readonly Dictionary<string, TensorRef> _refs = new(StringComparer.Ordinal);

    public TorchZipReader(string path)
    {
        _path = path;
        _fileLength = new FileInfo(path).Length;
        try
        {
            _zip = ZipFile.OpenRead(path);
            var pkl = _zip.Entries.Where(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
            if (pkl.Count != 1) throw new CheckpointException($"'{path}' is a zip but not a PyTorch checkpoint (no single <root>/data.pkl)");
            _root = pkl[0].FullName[..^"data.pkl".Length];
            if (_zip.GetEntry(_root + "byteorder") is { } bo && ReadEntry(bo, 16, "the byte order") is var order && System.Text.Encoding.ASCII.GetString(order) != "little")
                throw new CheckpointException($"'{path}' stores big-endian tensors, which are not supported");
            var tensors = new List<CheckpointTensor>();
            var ignored = new List<string>();
            var unused = new List<string>();
            foreach (var (name, t) in StateDictUnpickler.Read(ReadEntry(pkl[0], MaxPickleBytes, "the pickle"), path))
            {
                if (!_refs.TryAdd(name, t)) throw new CheckpointException($"'{path}': tensor '{name}' appears twice");
                if (Sam2VideoTensors.IsVideoOnly(name)) ignored.Add(name);
                else if (MobileSamUnusedTensors.IsUnused(name)) unused.Add(name);
                else tensors.Add(new CheckpointTensor(name, t.Storage.DType, t.Shape));
            }
            Tensors = tensors;
            IgnoredVideoTensors = ignored;
            IgnoredUnusedTensors = unused;
        }
        catch (Exception e)
        {
            _zip?.Dispose();
            if (e is CheckpointException) throw;
            if (e is InvalidDataException or IOException or NotSupportedException)
                throw new CheckpointException($"'{path}' is corrupt or truncated: {e.Message}", e);
            throw;
        }
    }

    public override IReadOnlyList<CheckpointTensor> Tensors { get; }

    public override IReadOnlyList<string> IgnoredVideoTensors { get; } = [];

    public override IReadOnlyList<string> IgnoredUnusedTensors { get; } = [];

    public override byte[] ReadBytes(CheckpointTensor tensor)
    {
        var t = _refs[tensor.Name];
        CheckpointException Bad(string problem) => new($"'{_path}', tensor '{tensor.Name}': {problem}");
        int es = t.Storage.DType.ElementSize();
        if (t.Storage.ElementCount < 0 || t.Storage.ElementCount > Array.MaxLength / es)
            throw Bad($"its storage claims {t.Storage.ElementCount} elements, which no file holds");
        long storageBytes = t.Storage.ElementCount * es;
        var entry = _zip.GetEntry($"{_root}data/{t.Storage.Key}") ?? throw Bad($"its storage '{t.Storage.Key}' is missing");
        if (entry.Length != storageBytes)
            throw Bad($"its storage '{t.Storage.Key}' holds {entry.Length} bytes, but {t.Storage.ElementCount} {t.Storage.DType} elements need {storageBytes}");
        return Gather(ReadEntry(entry, storageBytes, $"the storage of tensor '{tensor.Name}'"), t, es, Bad);
    }

    /// <summary>Copies a strided view of a storage into a contiguous row-major array, checking every bound.</summary>
    private static byte[] Gather(byte[] storage, TensorRef t, int es, Func<string, CheckpointException> bad)
    {
        long count = 1, last = t.Offset;
        try
        {
            for (int d = 0; d < t.Shape.Length; d++)
            {
                count = checked(count * t.Shape[d]);
                if (t.Shape[d] > 0) last = checked(last + (t.Shape[d] - 1) * t.Stride[d]);
            }
        }
        catch (OverflowException)
        {
            throw bad($"its shape {ShapeUtil.Format(t.Shape)} and strides [{string.Join(", ", t.Stride)}] overflow");
        }
        if (count == 0) return [];
        // Every element of a weight is its own value: a view with more elements than its storage
        // repeats some (an expanded tensor), which a state dict of weights never holds.
        if (count > t.Storage.ElementCount)
            throw bad($"its shape {ShapeUtil.Format(t.Shape)} has {count} elements, more than its storage's {t.Storage.ElementCount}");
        if (t.Offset < 0 || last >= t.Storage.ElementCount)
            throw bad($"its view (offset {t.Offset}, shape {ShapeUtil.Format(t.Shape)}, strides [{string.Join(", ", t.Stride)}]) reaches outside its storage of {t.Storage.ElementCount} elements");
        if (IsContiguous(t.Shape, t.Stride))
            return count == t.Storage.ElementCount ? storage : storage.AsSpan((int)(t.Offset * es), (int)(count * es)).ToArray();
        var dst = new byte[count * es];
        var index = new int[t.Shape.Length];
        for (long i = 0; i < count; i++)
        {
            long src = t.Offset;
            for (int d = 0; d < index.Length; d++) src += index[d] * t.Stride[d];
            storage.AsSpan((int)(src * es), es).CopyTo(dst.AsSpan((int)(i * es)));
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

    /// <summary>
    /// The bytes of an entry, after checking its claimed size against <paramref name="maxBytes"/> and
    /// against what the file can hold, so that a lying header costs no allocation.
    /// </summary>
    private byte[] ReadEntry(ZipArchiveEntry entry, long maxBytes, string what)
    {
        if (entry.Length > maxBytes || entry.Length > Array.MaxLength)
            throw new CheckpointException($"'{_path}': {what} (entry '{entry.FullName}') claims {entry.Length} bytes, more than expected");
        if (entry.CompressedLength > _fileLength || entry.Length > Math.Max(entry.CompressedLength, 1) * MaxDeflateRatio)
            throw new CheckpointException($"'{_path}' is corrupt: {what} (entry '{entry.FullName}') claims {entry.Length} bytes from {entry.CompressedLength} stored in a {_fileLength}-byte file");
        var buffer = GC.AllocateUninitializedArray<byte>((int)entry.Length);
        int n;
        try
        {
            using var s = entry.Open();
            n = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or (IOException and not CheckpointException))
        {
            throw new CheckpointException($"'{_path}': {what} (entry '{entry.FullName}') is corrupt: {e.Message}", e);
        }
        if (n != buffer.Length) throw new CheckpointException($"'{_path}': {what} (entry '{entry.FullName}') is truncated: {n} of {buffer.Length} bytes");
        return buffer;
    }

    public override void Dispose() => _zip.Dispose();
}
