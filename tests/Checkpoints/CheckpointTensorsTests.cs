using System.Buffers.Binary;
using System.Text;
using SamEngine.Checkpoints;

namespace SamEngine.Tests.Checkpoints;

/// <summary>How <see cref="CheckpointReader.Open"/> tells the formats apart, and its readers' lifetime.</summary>
public sealed class CheckpointTensorsTests() : TempDirectoryTests("samengine-ckpt-")
{
    [Fact]
    public void Safetensors_whose_header_length_starts_like_a_pickle_is_read_as_safetensors()
    {
        // A 128-byte header: the length field's first byte is 0x80, as a pickle's PROTO opcode is.
        var header = Encoding.ASCII.GetBytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}".PadRight(128));
        var bytes = new byte[8 + header.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        BitConverter.GetBytes(1.5f).CopyTo(bytes, 8 + header.Length);
        string path = Path.Combine(TempDir, "weights.bin");
        File.WriteAllBytes(path, bytes);
        using var reader = CheckpointReader.Open(path);
        Assert.Equal(1.5f, BitConverter.ToSingle(reader.ReadBytes(Assert.Single(reader.Tensors))));
    }

    [Fact]
    public void Legacy_pickle_checkpoint_is_named_as_such()
    {
        string path = Path.Combine(TempDir, "old.pth");
        File.WriteAllBytes(path, [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]);
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        Assert.Contains("legacy", e.Message);
    }

    [Fact]
    public void Pickle_larger_than_a_state_dict_needs_is_refused_before_it_is_read()
    {
        var pickle = new byte[TorchZipReader.MaxPickleBytes + 1];
        string path = TestFiles.TorchZip(TempDir, pickle);
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        Assert.Contains("the pickle (entry 'archive/data.pkl') claims", e.Message);
    }

    [Theory]
    [InlineData("model.pth")]
    [InlineData("model.safetensors")]
    public void Reading_after_Dispose_throws_and_a_second_Dispose_does_nothing(string file)
    {
        var reader = CheckpointReader.Open(Path.Combine(TestFixtures.Local("tiny"), file));
        var first = reader.Tensors[0];
        Assert.NotEmpty(reader.ReadBytes(first));
        reader.Dispose();
        reader.Dispose();
        Assert.Throws<ObjectDisposedException>(() => reader.ReadBytes(first));
    }
}
