using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SamEngine.Checkpoints;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Modeling;
using SamEngine.Weights;

namespace SamEngine.Tests.Checkpoints;

/// <summary>
/// A small seeded fuzzer over the readers: the tiny fixture's model.pth and model.safetensors are cut
/// short, bit-flipped and have length fields overwritten, and hand-made pickles claim hostile shapes.
/// Every load must either succeed or throw the readers' own exception with the file named: never a
/// system exception (overflow, index, end of stream, out of memory) or a crash.
/// </summary>
public sealed class CheckpointFuzzTests() : TempDirectoryTests("samengine-fuzz-")
{
    private static SamArchitecture TinyArch => SamArchitecture.FromJson(File.ReadAllText(TestFiles.TinyArch));

    /// <summary>Values that break naive size arithmetic when written over a length or offset field.</summary>
    private static readonly ulong[] HostileValues =
        [0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue];

    /// <summary>Deterministic mutations of <paramref name="original"/>; <paramref name="structure"/> is the byte range holding headers.</summary>
    private static IEnumerable<(string What, byte[] Bytes)> Mutations(byte[] original, Range structure, int seed)
    {
        var random = new Random(seed);
        var (start, length) = structure.GetOffsetAndLength(original.Length);
        int step = Math.Max(1, original.Length / 60);
        for (int cut = 0; cut < original.Length; cut += step) yield return ($"cut at {cut}", original[..cut]);
        yield return ($"cut at {original.Length - 1}", original[..^1]);
        for (int i = 0; i < 250; i++)
        {
            // Most flips hit the headers, where a flip changes meaning; the rest land anywhere.
            int at = i % 4 == 3 ? random.Next(original.Length) : start + random.Next(length);
            var flipped = (byte[])original.Clone();
            flipped[at] ^= (byte)(1 << random.Next(8));
            yield return ($"bit flip at {at}", flipped);
        }
        for (int i = 0; i < 120; i++)
        {
            int width = random.Next(2) == 0 ? 4 : 8;
            int at = start + random.Next(Math.Max(1, length - width));
            ulong value = HostileValues[random.Next(HostileValues.Length)];
            var overwritten = (byte[])original.Clone();
            if (width == 4) BinaryPrimitives.WriteUInt32LittleEndian(overwritten.AsSpan(at), (uint)value);
            else BinaryPrimitives.WriteUInt64LittleEndian(overwritten.AsSpan(at), value);
            yield return ($"{width} bytes at {at} set to {value}", overwritten);
        }
    }

    /// <summary>Runs <paramref name="load"/> on every mutation; returns each failure that was not a clean refusal.</summary>
    private List<string> Fuzz(string extension, IEnumerable<(string What, byte[] Bytes)> mutations, Action<string> load, params Type[] allowed)
    {
        var failures = new List<string>();
        foreach (var (what, bytes) in mutations)
        {
            string path = Path.Combine(TempDir, $"fuzzed{extension}");
            File.WriteAllBytes(path, bytes);
            try { load(path); }
            catch (Exception e) when (allowed.Contains(e.GetType()) && e.Message.Contains(path)) { }
            catch (Exception e) { failures.Add($"{what}: {e.GetType().Name}: {e.Message.Split('\n')[0]}"); }
        }
        return failures;
    }

    private static void AssertNone(List<string> failures) =>
        Assert.True(failures.Count == 0, $"{failures.Count} loads failed uncleanly, e.g.:\n" + string.Join("\n", failures.Take(12)));

    private static void ReadEveryPthTensor(string path)
    {
        using var reader = CheckpointReader.Open(path);
        foreach (var t in reader.Tensors) reader.ReadBytes(t);
    }

    private static void ReadEverySafetensorsTensor(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        foreach (var (name, info) in file.Tensors)
        {
            file.GetBytes(name);
            if (info.DType.IsFloatingPoint()) file.ReadHalfBits(name);
        }
    }

    private static int PickleEnd()
    {
        // The pickle is the zip's first entry; headers are it and the central directory at the end.
        using var reader = System.IO.Compression.ZipFile.OpenRead(TestFiles.TinyPth);
        return 30 + reader.Entries[0].FullName.Length + (int)reader.Entries[0].CompressedLength + 64;
    }

    [Fact]
    public void Mutated_pth_is_read_or_refused_with_a_checkpoint_error()
    {
        var original = File.ReadAllBytes(TestFiles.TinyPth);
        var headers = Mutations(original, ..PickleEnd(), seed: 1)
            .Concat(Mutations(original, ^16_000.., seed: 2)); // the central directory
        AssertNone(Fuzz(".pth", headers, ReadEveryPthTensor, typeof(CheckpointException)));
    }

    [Fact]
    public void Mutated_safetensors_is_read_or_refused_with_a_safetensors_error()
    {
        var original = File.ReadAllBytes(TestFiles.TinyModel);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        AssertNone(Fuzz(".safetensors", Mutations(original, ..headerEnd, seed: 3), ReadEverySafetensorsTensor, typeof(SafeTensorsException)));
    }

    [Fact]
    public void Mutated_checkpoints_load_as_models_or_convert_or_are_refused_naming_the_file()
    {
        // Through SamModel.Load, with and without the architecture (inference reads the shapes), and convert.
        Type[] allowed = [typeof(CheckpointException), typeof(SafeTensorsException), typeof(WeightException)];
        void Load(string path)
        {
            using (SamModel.Load(path, TinyArch)) { }
            CheckpointConverter.Convert(path, Path.Combine(TempDir, "converted.safetensors"), arch: TinyArch);
            using (SamModel.Load(path)) { }
        }
        var st = File.ReadAllBytes(TestFiles.TinyModel);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(st);
        AssertNone(Fuzz(".safetensors", Mutations(st, ..headerEnd, seed: 4).Where((_, i) => i % 5 == 0), Load, allowed));
        var pth = File.ReadAllBytes(TestFiles.TinyPth);
        AssertNone(Fuzz(".pth", Mutations(pth, ..PickleEnd(), seed: 5).Where((_, i) => i % 5 == 0), Load, allowed));
    }

    /// <summary>Hand-made state dicts whose one tensor view claims hostile sizes: (what, numel, offset, shape, stride, storage bytes).</summary>
    public static TheoryData<string, long, long, long[], long[], int> HostileViews => new()
    {
        { "negative storage size", -1, 0, [1], [1], 4 },
        { "storage size overflowing bytes", long.MaxValue / 2, 0, [1], [1], 4 },
        { "storage smaller than its entry", 1, 0, [1], [1], 8 },
        { "storage larger than its entry", 4, 0, [4], [1], 8 },
        { "negative offset", 4, -1, [4], [1], 16 },
        { "offset past the end", 4, 1000, [1], [1], 16 },
        { "offset overflowing", 4, long.MaxValue, [2], [1], 16 },
        { "shape product overflowing long", 4, 0, [int.MaxValue, int.MaxValue, int.MaxValue], [0, 0, 0], 16 },
        { "shape larger than an array", 4, 0, [int.MaxValue, int.MaxValue], [0, 0], 16 },
        { "stride overflowing", 4, 0, [3], [long.MaxValue / 2], 16 },
        { "strides summing past long", 4, 0, [2, 2], [long.MaxValue / 2 + 1, long.MaxValue / 2 + 1], 16 },
        { "more elements than its storage", 4, 0, [8], [0], 16 },
        { "scalar of an empty storage", 0, 0, [], [], 0 },
    };

    [Theory]
    [MemberData(nameof(HostileViews))]
    public void Hostile_tensor_view_is_refused_naming_file_and_tensor(string what, long numel, long offset, long[] shape, long[] stride, int storageBytes)
    {
        var pickle = PickleBuilder.StateDict(("victim.weight", p => p.Tensor("0", numel, offset, shape, stride)));
        string path = TestFiles.TorchZip(TempDir, pickle, ("0", new byte[storageBytes]));
        var e = Assert.Throws<CheckpointException>(() => ReadEveryPthTensor(path));
        Assert.True(e.Message.Contains(path) && e.Message.Contains("victim.weight"), $"{what}: {e.Message}");
    }

    [Fact]
    public void Zip_entry_claiming_more_bytes_than_the_file_holds_is_refused_before_allocating()
    {
        // The pickle's local and central sizes both claim ~1 GB in a file of a few hundred bytes.
        var pickle = PickleBuilder.StateDict(("w", p => p.Tensor("0", 1, 0, [1], [1])));
        string path = TestFiles.TorchZip(TempDir, pickle, ("0", new byte[4]));
        var bytes = File.ReadAllBytes(path);
        var name = "archive/data.pkl"u8;
        for (int at = bytes.AsSpan().IndexOf(name); at >= 0; at = NextIndex(bytes, name, at))
        {
            // Uncompressed size sits 4 bytes before the name length in a local header (offset 22 of 30)
            // and 16 bytes before the name in a central header (offset 24 of 46).
            bool central = at >= 46 && BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at - 46)) == 0x02014b50;
            int sizeAt = central ? at - 46 + 24 : at - 30 + 22;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(sizeAt), 1_000_000_000);
        }
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointException>(() => ReadEveryPthTensor(path));
        Assert.Contains(path, e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 100_000_000, "a claimed size was allocated before it was checked");
    }

    private static int NextIndex(byte[] bytes, ReadOnlySpan<byte> what, int after)
    {
        int i = bytes.AsSpan(after + 1).IndexOf(what);
        return i < 0 ? -1 : after + 1 + i;
    }
}
