using System.Runtime.InteropServices;
using SamEngine.Checkpoints;

namespace SamEngine.Tests.Checkpoints;

public class StateDictUnpicklerTests
{
    [Fact]
    public void ReadsTheTinyPthStateDict()
    {
        using var reader = CheckpointReader.Open(TestFiles.TinyPth);
        Assert.Equal(174, reader.Tensors.Count);
        var t = reader.Tensors.Single(x => x.Name == "image_encoder.blocks.0.attn.qkv.weight");
        Assert.Equal([96, 32], t.Shape);
        Assert.Equal(96 * 32 * 4, reader.ReadBytes(t).Length);
    }

    [Fact]
    public void GathersAStridedView()
    {
        // A 2 x 3 tensor stored transposed: element (i, j) at storage offset 1 + i + 2 * j.
        float[] storage = [9, 0, 1, 2, 3, 4, 5];
        var pickle = PickleBuilder.StateDict(("w", p => p.Tensor("0", 7, 1, [2, 3], [1, 2])));
        string path = TestFiles.TorchZip(TestFiles.TempDir(), pickle, ("0", MemoryMarshal.AsBytes(storage.AsSpan()).ToArray()));
        using var reader = CheckpointReader.Open(path);
        var values = MemoryMarshal.Cast<byte, float>(reader.ReadBytes(reader.Tensors[0])).ToArray();
        Assert.Equal([0f, 2, 4, 1, 3, 5], values);
    }

    [Fact]
    public void AcceptsTheMetadataAStateDictCarries()
    {
        // model.state_dict() pickles as OrderedDict(), SETITEMS, then BUILD with {'_metadata': {'': {'version': 1}}}.
        var entries = PickleBuilder.StateDict(("w", p => p.Tensor("0", 1, 0, [1], [1])));
        var p = new PickleBuilder();
        foreach (byte b in entries.AsSpan(2, entries.Length - 3)) p.Byte(b); // drop PROTO and STOP
        p.Op(0x7D).Str("_metadata").Op(0x7D).Str("").Op(0x7D).Str("version").Int(1).Op(0x73).Op(0x73).Op(0x73).Op(0x62).Op(0x2E);
        string path = TestFiles.TorchZip(TestFiles.TempDir(), p.ToArray(), ("0", BitConverter.GetBytes(2.5f)));
        using var reader = CheckpointReader.Open(path);
        Assert.Equal("w", Assert.Single(reader.Tensors).Name);
        Assert.Equal(2.5f, BitConverter.ToSingle(reader.ReadBytes(reader.Tensors[0])));
    }

    [Fact]
    public void RefusesAViewOutsideItsStorage()
    {
        var pickle = PickleBuilder.StateDict(("w", p => p.Tensor("0", 4, 2, [2, 2], [2, 1])));
        string path = TestFiles.TorchZip(TestFiles.TempDir(), pickle, ("0", new byte[16]));
        using var reader = CheckpointReader.Open(path);
        var e = Assert.Throws<CheckpointException>(() => reader.ReadBytes(reader.Tensors[0]));
        Assert.Contains("outside its storage", e.Message);
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("torch", "load")]
    public void RefusesGlobalsAStateDictDoesNotNeed(string module, string name)
    {
        var pickle = new PickleBuilder().Global(module, name).Str("echo hi").Op(0x85).Op(0x52).Op(0x2E).ToArray();
        string path = TestFiles.TorchZip(TestFiles.TempDir(), pickle);
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.Open(path).Dispose());
        Assert.Contains($"'{module}.{name}'", e.Message);
    }

    [Theory]
    [InlineData(0x69, "0x69")] // INST
    [InlineData(0x6F, "0x6F")] // OBJ
    [InlineData(0x81, "0x81")] // NEWOBJ
    [InlineData(0x53, "0x53")] // STRING
    public void RefusesOpcodesAStateDictDoesNotNeed(byte op, string named)
    {
        var pickle = new PickleBuilder().Op(0x7D).Op(op).Op(0x2E).ToArray();
        string path = TestFiles.TorchZip(TestFiles.TempDir(), pickle);
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.Open(path).Dispose());
        Assert.Contains($"unsupported pickle opcode {named}", e.Message);
    }

    [Fact]
    public void RefusesATruncatedPickle()
    {
        var full = PickleBuilder.StateDict(("w", p => p.Tensor("0", 4, 0, [4], [1])));
        string path = TestFiles.TorchZip(TestFiles.TempDir(), full[..(full.Length / 2)], ("0", new byte[16]));
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.Open(path).Dispose());
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void RefusesATruncatedZip()
    {
        string dir = TestFiles.TempDir();
        string path = Path.Combine(dir, "cut.pth");
        var bytes = File.ReadAllBytes(TestFiles.TinyPth);
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.Open(path).Dispose());
        Assert.Contains("corrupt or truncated", e.Message);
    }

    [Fact]
    public void RefusesAnEntryThatIsNotATensor()
    {
        var pickle = PickleBuilder.StateDict(("epoch", p => p.Int(3)));
        string path = TestFiles.TorchZip(TestFiles.TempDir(), pickle);
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.Open(path).Dispose());
        Assert.Contains("'epoch'", e.Message);
    }
}
