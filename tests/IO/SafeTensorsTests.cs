using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using SamEngine.IO;

namespace SamEngine.Tests.IO;

/// <summary>Reader validation, writer→reader round trips and the shipped fixtures.</summary>
public sealed class SafeTensorsTests() : TempDirectoryTests("samengine-st-")
{
    internal static string Fixture(string set, string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", set, file);

    /// <summary>Writes a raw file: 8-byte length (or <paramref name="lengthField"/>), header bytes, data bytes.</summary>
    private string WriteRaw(byte[] header, int dataBytes = 0, ulong? lengthField = null)
    {
        string path = Path.Combine(TempDir, $"bad-{Guid.NewGuid():N}.safetensors");
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, lengthField ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string WriteRaw(string headerJson, int dataBytes = 0) => WriteRaw(Encoding.UTF8.GetBytes(headerJson), dataBytes);

    private static void AssertRejected(string path, params string[] fragments)
    {
        var e = Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
    }

    [Fact]
    public void FileShorterThanEightBytes()
    {
        string path = Path.Combine(TempDir, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        AssertRejected(path, "shorter than");
    }

    [Fact]
    public void EmptyFile()
    {
        string path = Path.Combine(TempDir, "empty.safetensors");
        File.WriteAllBytes(path, []);
        AssertRejected(path, "0 bytes");
    }

    [Fact]
    public void HeaderLengthBeyondFile() => AssertRejected(WriteRaw("{}"u8.ToArray(), lengthField: 1000), "beyond the end");

    [Fact]
    public void HeaderLengthAbsurd() => AssertRejected(WriteRaw("{}"u8.ToArray(), lengthField: 200_000_000), "absurd");

    [Fact]
    public void HeaderLengthHuge() => AssertRejected(WriteRaw("{}"u8.ToArray(), lengthField: ulong.MaxValue), "absurd");

    [Fact]
    public void HeaderNotUtf8() => AssertRejected(WriteRaw([(byte)'{', 0xFF, 0xFE, (byte)'}']), "UTF-8");

    [Fact]
    public void HeaderNotJson() => AssertRejected(WriteRaw("{\"a\": "), "not valid JSON");

    [Fact]
    public void HeaderNotAnObject() => AssertRejected(WriteRaw("[1, 2]"), "not an object");

    [Theory]
    [InlineData("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "missing 'dtype'")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "missing 'shape'")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", "missing 'data_offsets'")]
    [InlineData("{\"t\":[1]}", "not an object")]
    [InlineData("{\"t\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", "'dtype' is a JSON Number")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", "'shape' is a JSON String")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "not an integer")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", "not an integer")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", "'data_offsets'")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"a\":0}}}", "'data_offsets'")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\"4\"]}}", "'data_offsets'")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", "'data_offsets'")]
    [InlineData("{\"t\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,4]}}", "unknown dtype 'F8'")]
    [InlineData("{\"t\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "unknown dtype 'f32'")]
    [InlineData("{\"t\":{\"dtype\":\"1\",\"shape\":[1],\"data_offsets\":[0,4]}}", "unknown dtype '1'")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "negative dimension")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", "after end")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", "beyond the data section")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "needs 8")]
    [InlineData("{\"t\":{\"dtype\":\"F16\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,8]}}", "too large")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "listed twice")]
    public void BadTensorEntryNamesTheTensor(string header, string problem) =>
        AssertRejected(WriteRaw(header, dataBytes: 8), "tensor 't'", problem);

    [Fact]
    public void OverlappingTensors()
    {
        string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        AssertRejected(WriteRaw(header, dataBytes: 12), "tensor 'b'", "overlap tensor 'a'");
    }

    [Fact]
    public void GapsAndEmptyTensorsAreAllowed()
    {
        string header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,8]},\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[7,7]}}";
        using var f = SafeTensorsFile.Open(WriteRaw(header, dataBytes: 8));
        Assert.Equal(2, f.GetBytes("a").Length);
        Assert.Empty(f.ReadFloat32("e"));
    }

    [Theory]
    [InlineData("{\"__metadata__\":[1]}")]
    [InlineData("{\"__metadata__\":{\"k\":1}}")]
    public void BadMetadata(string header) => AssertRejected(WriteRaw(header), "__metadata__");

    [Fact]
    public void MissingTensorNamesFileAndTensor()
    {
        using var f = SafeTensorsFile.Open(WriteRaw("{}"));
        Assert.False(f.Contains("nope"));
        var e = Assert.Throws<SafeTensorsException>(() => f.Info("nope"));
        Assert.Contains(f.Path, e.Message);
        Assert.Contains("'nope'", e.Message);
        Assert.Empty(f.Metadata);
    }

    [Fact]
    public void WrongDTypeReads()
    {
        var w = new SafeTensorsWriter();
        w.Add("i", SafeTensorDType.I32, [1], new byte[4]);
        w.AddFloat32("f", [1], [1f]);
        string path = Path.Combine(TempDir, "types.safetensors");
        w.Write(path);
        using var f = SafeTensorsFile.Open(path);
        Assert.Contains("'i'", Assert.Throws<SafeTensorsException>(() => f.ReadHalfBits("i")).Message);
        Assert.Contains("'f'", Assert.Throws<SafeTensorsException>(() => f.ReadUInt8("f")).Message);
    }

    public static TheoryData<SafeTensorDType> AllDTypes() => new(Enum.GetValues<SafeTensorDType>());

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void RoundTripEveryDType(SafeTensorDType dtype)
    {
        int[] shape = [2, 3];
        var data = new byte[6 * dtype.ElementSize()];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(dtype == SafeTensorDType.BOOL ? i % 2 : 7 * i + 1);
        var w = new SafeTensorsWriter();
        w.Add("x", dtype, shape, data);
        w.Add("scalar", dtype, [], data.AsSpan(0, dtype.ElementSize()));
        string path = Path.Combine(TempDir, $"rt-{dtype}.safetensors");
        w.Write(path, new Dictionary<string, string> { ["k"] = "v" });

        using var f = SafeTensorsFile.Open(path);
        var info = f.Info("x");
        Assert.Equal(dtype, info.DType);
        Assert.Equal(shape, info.Shape);
        Assert.Equal(data, f.GetBytes("x").ToArray());
        Assert.Empty(f.Info("scalar").Shape);
        Assert.Equal("v", f.Metadata["k"]);
        Assert.Equal(6, f.ReadFloat32("x").Length);
    }

    [Fact]
    public void ConversionsToFloat32AndHalf()
    {
        float third = 1f / 3f;
        double thirdD = 1.0 / 3.0;
        var w = new SafeTensorsWriter();
        w.AddFloat32("f32", [2], [third, -2.5f]);
        w.Add("f64", SafeTensorDType.F64, [2], MemoryMarshal.AsBytes<double>([thirdD, -2.5]));
        w.Add("bf16", SafeTensorDType.BF16, [2], MemoryMarshal.AsBytes<ushort>([0x3EAB, 0xC020]));
        w.AddHalf("f16", [2], [0x3555, 0xC100]);
        w.Add("i8", SafeTensorDType.I8, [2], [0xFF, 5]);
        w.Add("i32", SafeTensorDType.I32, [2], MemoryMarshal.AsBytes<int>([-7, 100000]));
        w.Add("i64", SafeTensorDType.I64, [2], MemoryMarshal.AsBytes<long>([-7, 1L << 40]));
        w.AddUInt8("u8", [2], [0, 255]);
        w.Add("bool", SafeTensorDType.BOOL, [2], [1, 0]);
        string path = Path.Combine(TempDir, "conv.safetensors");
        w.Write(path);

        using var f = SafeTensorsFile.Open(path);
        Assert.Equal([third, -2.5f], f.ReadFloat32("f32"));
        Assert.Equal([(float)thirdD, -2.5f], f.ReadFloat32("f64"));
        Assert.Equal([BitConverter.Int32BitsToSingle(0x3EAB0000), -2.5f], f.ReadFloat32("bf16"));
        Assert.Equal([(float)BitConverter.UInt16BitsToHalf(0x3555), -2.5f], f.ReadFloat32("f16"));
        Assert.Equal([-1f, 5f], f.ReadFloat32("i8"));
        Assert.Equal([-7f, 100000f], f.ReadFloat32("i32"));
        Assert.Equal([-7f, (float)(1L << 40)], f.ReadFloat32("i64"));
        Assert.Equal([0f, 255f], f.ReadFloat32("u8"));
        Assert.Equal([1f, 0f], f.ReadFloat32("bool"));

        // fp16 of 1/3 rounds to 0x3555; -2.5 is 0xC100 exactly.
        ushort[] expected = [0x3555, 0xC100];
        Assert.Equal(expected, f.ReadHalfBits("f32").ToArray());
        Assert.Equal(expected, f.ReadHalfBits("f64").ToArray());
        Assert.Equal(expected, f.ReadHalfBits("f16").ToArray());
        Assert.Equal([BitConverter.HalfToUInt16Bits((Half)BitConverter.Int32BitsToSingle(0x3EAB0000)), (ushort)0xC100], f.ReadHalfBits("bf16").ToArray());
        Assert.Equal([0, 255], f.ReadUInt8("u8"));
        Assert.Equal([1, 0], f.ReadUInt8("bool"));
    }

    [Fact]
    public void F64ToHalfRoundsOnce()
    {
        // Just above the midpoint between fp16 1.0 and its successor (1 + 2^-10): a double rounds up,
        // but a float32 detour would first land exactly on the midpoint and then round to even (1.0).
        double x = 1.0 + Math.Pow(2, -11) + Math.Pow(2, -40);
        var w = new SafeTensorsWriter();
        w.Add("x", SafeTensorDType.F64, [1], MemoryMarshal.AsBytes<double>([x]));
        string path = Path.Combine(TempDir, "f64.safetensors");
        w.Write(path);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal([(ushort)0x3C01], f.ReadHalfBits("x").ToArray());
    }

    [Fact]
    public void WriterHeaderMatchesPythonJsonDumps()
    {
        var w = new SafeTensorsWriter();
        w.AddUInt8("b\u00e9\U0001F600\u007f\"\\\n", [1], [9]);
        w.AddUInt8("\uE000", [1], [8]);
        w.AddUInt8("a", [], [7]);
        string path = Path.Combine(TempDir, "hdr.safetensors");
        w.Write(path, new Dictionary<string, string> { ["z"] = "1", ["\u00e9"] = "x" });

        // What Python's json.dumps(..., separators=(",", ":")) writes for the same dict; sorted() puts
        // U+E000 before U+1F600 by code point, which ordinal UTF-16 comparison would reverse.
        string expected =
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}," +
            "\"b\\u00e9\\ud83d\\ude00\\u007f\\\"\\\\\\n\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}," +
            "\"\\ue000\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}," +
            "\"__metadata__\":{\"z\":\"1\",\"\\u00e9\":\"x\"}}";
        byte[] file = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, n % 8);
        string header = Encoding.ASCII.GetString(file, 8, (int)n);
        Assert.Equal(expected, header.TrimEnd(' '));
        Assert.Equal(expected.Length + (8 - expected.Length % 8) % 8, n);
        Assert.Equal(new byte[] { 7, 9, 8 }, file[(8 + (int)n)..]);

        using var f = SafeTensorsFile.Open(path);
        Assert.Equal(new byte[] { 9 }, f.ReadUInt8("b\u00e9\U0001F600\u007f\"\\\n"));
        Assert.Equal("x", f.Metadata["\u00e9"]);
    }

    [Fact]
    public void WriterRejectsWrongByteCountAndDuplicates()
    {
        var w = new SafeTensorsWriter();
        Assert.Throws<ArgumentException>(() => w.AddFloat32("a", [3], [1f, 2f]));
        w.AddFloat32("a", [2], [1f, 2f]);
        Assert.Throws<ArgumentException>(() => w.AddFloat32("a", [2], [1f, 2f]));
        Assert.Throws<ArgumentException>(() => w.AddUInt8("__metadata__", [1], [1]));
    }

    [Fact]
    public void FailedWriteLeavesNoFiles()
    {
        var w = new SafeTensorsWriter();
        w.AddFloat32("a", [1], [1f]);
        string target = Path.Combine(TempDir, "taken");
        Directory.CreateDirectory(target); // a folder where the file should go: the final move fails
        Assert.ThrowsAny<IOException>(() => w.Write(target));
        Assert.Equal([target], Directory.GetFileSystemEntries(TempDir));
    }

    [Fact]
    public void WriteReplacesAnExistingFile()
    {
        string path = Path.Combine(TempDir, "replace.safetensors");
        File.WriteAllText(path, "old contents that are not safetensors");
        var w = new SafeTensorsWriter();
        w.AddFloat32("a", [1], [3f]);
        w.Write(path);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal([3f], f.ReadFloat32("a"));
        Assert.Single(Directory.GetFileSystemEntries(TempDir));
    }

    [Fact]
    public void ReadsShippedReferenceFixture()
    {
        using var f = SafeTensorsFile.Open(Fixture("tiny", "reference.safetensors"));
        var image = f.Info("image");
        Assert.Equal(SafeTensorDType.U8, image.DType);
        Assert.Equal([200, 300, 3], image.Shape);
        Assert.Equal(new byte[] { 59, 90, 146, 71, 78, 130 }, f.ReadUInt8("image")[..6]);

        var input = f.ReadFloat32("input_tensor");
        Assert.Equal(3 * 256 * 256, input.Length);
        Assert.Equal([-1.0904186964035034f, -0.9362959861755371f, -1.0732940435409546f], input[..3]);

        Assert.Equal(SafeTensorDType.F16, f.Info("box_point.mask_logits").DType);
        Assert.Equal([(ushort)45873, 45873, 45703], f.ReadHalfBits("box_point.mask_logits")[..3].ToArray());
        Assert.Equal([-0.2247314453125f, -0.2247314453125f, -0.2039794921875f], f.ReadFloat32("box_point.mask_logits")[..3]);

        foreach (var name in f.Tensors.Keys)
            Assert.Equal(f.Info(name).ElementCount, f.ReadFloat32(name).Length);
    }

    [Fact]
    public void FileCutShortAfterOpeningIsASafeTensorsErrorNamingTheTensor()
    {
        // The header matched the file at Open; the data then vanishes under the reader.
        string path = Path.Combine(TempDir, "shrinks.safetensors");
        var w = new SafeTensorsWriter();
        w.AddFloat32("weights", [4], [1f, 2f, 3f, 4f]);
        w.Write(path);
        using var f = SafeTensorsFile.Open(path);
        long dataStart = new FileInfo(path).Length - 16;
        using (var shrink = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) shrink.SetLength(dataStart + 4);
        var e = Assert.Throws<SafeTensorsException>(() => f.ReadFloat32("weights"));
        Assert.Contains(path, e.Message);
        Assert.Contains("'weights'", e.Message);
    }
}
