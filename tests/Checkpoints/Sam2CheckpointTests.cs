using SamEngine.Checkpoints;
using SamEngine.IO;

namespace SamEngine.Tests.Checkpoints;

/// <summary>Official SAM 2.x checkpoints: the {"model": state_dict} wrapper and the video-only tensors.</summary>
public class Sam2CheckpointTests
{
    private static string TinyPt => Path.Combine(AppContext.BaseDirectory, "fixtures", "sam2.1_tiny", "model.pt");

    [Fact]
    public void TheWrappedStateDictIsReadAndItsVideoTensorsAreNamedAndLeftOut()
    {
        using var reader = CheckpointReader.Open(TinyPt);
        using var shipped = SafeTensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "fixtures", "sam2.1_tiny", "model.safetensors"));
        // What is left is exactly the image path the fixture ships as safetensors.
        Assert.Equal(shipped.Tensors.Keys.OrderBy(n => n, StringComparer.Ordinal), reader.Tensors.Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Contains("maskmem_tpos_enc", reader.IgnoredVideoTensors);
        Assert.Contains(reader.IgnoredVideoTensors, n => n.StartsWith("memory_attention.", StringComparison.Ordinal));
        var notice = Sam2VideoTensors.Notice(reader.IgnoredVideoTensors)!;
        Assert.Contains("memory_encoder.*", notice);
        Assert.DoesNotContain('\n', notice);
    }

    [Fact]
    public void OnlyTheModelWrapperIsUnwrapped()
    {
        // {"model": {"w": tensor}} reads; {"state": {...}} and {"model": {...}, "epoch": 3} do not.
        static byte[] Wrapped(string key, bool extra)
        {
            var p = new PickleBuilder().Op(0x7D).Str(key).Op(0x7D).Str("w").Tensor("0", 1, 0, [1], [1]).Op(0x73).Op(0x73);
            if (extra) p.Str("epoch").Int(3).Op(0x73);
            return p.Op(0x2E).ToArray();
        }
        string dir = TestFiles.TempDir();
        using (var reader = CheckpointReader.Open(TestFiles.TorchZip(dir, Wrapped("model", false), ("0", BitConverter.GetBytes(1.5f)))))
            Assert.Equal("w", Assert.Single(reader.Tensors).Name);
        Assert.Throws<CheckpointException>(() => CheckpointReader.Open(TestFiles.TorchZip(TestFiles.TempDir(), Wrapped("state", false), ("0", new byte[4]))).Dispose());
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.Open(TestFiles.TorchZip(TestFiles.TempDir(), Wrapped("model", true), ("0", new byte[4]))).Dispose());
        Assert.Contains("'model'", e.Message);
    }
}
