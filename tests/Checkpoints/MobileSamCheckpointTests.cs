using SamEngine.Checkpoints;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Modeling;
using SamEngine.Weights;

namespace SamEngine.Tests.Checkpoints;

/// <summary>
/// MobileSAM checkpoints as <c>mobile_sam.pt</c> stores them: every float tensor of the official state
/// dict (float32) plus the int64 <c>num_batches_tracked</c> of every BatchNorm and TinyViT's classifier
/// head, which the engine leaves out and names.
/// </summary>
public sealed class MobileSamCheckpointTests
{
    private static SamArchitecture TinyArch => SamArchitecture.FromJson(File.ReadAllText(Path.Combine(TestFixtures.Local("mobile_sam_tiny"), "cases.json")));

    /// <summary>
    /// A torch.save zip of the generated mobile_sam_tiny weights in float32, with the extra tensors the
    /// official checkpoint holds; returns its path and the generated parameters.
    /// </summary>
    private static (string Path, IReadOnlyList<Parameter> Expected) MobileSamPt(string dir)
    {
        using var model = SamModel.Create(TinyArch, new GeneratedWeightSource(0));
        var entries = new List<(string, Action<PickleBuilder>)>();
        var storages = new List<(string, byte[])>();
        void Add(string name, int[] shape, byte[] data, string storage, int elementSize)
        {
            string key = storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            long[] stride = new long[shape.Length];
            for (int d = shape.Length - 1, s = 1; d >= 0; s *= shape[d], d--) stride[d] = s;
            entries.Add((name, p => p.Tensor(key, data.Length / elementSize, 0, shape.Select(x => (long)x).ToArray(), stride, storage)));
            storages.Add((key, data));
        }
        foreach (var p in model.Parameters)
        {
            Add(p.Name, p.Shape, p.ToFloat().SelectMany(BitConverter.GetBytes).ToArray(), "FloatStorage", 4);
            if (p.Name.EndsWith(".bn.running_var", StringComparison.Ordinal))
                Add(p.Name.Replace("running_var", "num_batches_tracked"), [], BitConverter.GetBytes(0L), "LongStorage", 8);
        }
        Add("image_encoder.norm_head.weight", [320], new byte[320 * 4], "FloatStorage", 4);
        Add("image_encoder.norm_head.bias", [320], new byte[320 * 4], "FloatStorage", 4);
        Add("image_encoder.head.weight", [8, 320], new byte[8 * 320 * 4], "FloatStorage", 4);
        Add("image_encoder.head.bias", [8], new byte[8 * 4], "FloatStorage", 4);
        return (TestFiles.TorchZip(dir, PickleBuilder.StateDict([.. entries]), [.. storages]), model.Parameters.ToList());
    }

    [Fact]
    public void Convert_reads_mobile_sam_pt_names_and_leaves_out_what_sam_never_reads()
    {
        string dir = TestFiles.TempDir();
        try
        {
            var (pt, expected) = MobileSamPt(dir);
            string output = Path.Combine(dir, "mobile_sam.safetensors");
            var result = CheckpointConverter.Convert(pt, output, arch: TinyArch);
            int bns = expected.Count(p => p.Name.EndsWith(".bn.running_var", StringComparison.Ordinal));
            Assert.True(bns >= 20, $"{bns} BatchNorms");
            Assert.Equal(bns + 4, result.IgnoredUnusedTensors!.Count);
            var notice = MobileSamUnusedTensors.Notice(result.IgnoredUnusedTensors)!;
            Assert.Contains($"{bns} BatchNorm num_batches_tracked counters", notice);
            Assert.Contains("classifier head (4", notice);
            Assert.Equal(expected.Count, result.TensorCount);
            using var file = SafeTensorsFile.Open(output);
            foreach (var p in expected)
                Assert.True(MemoryMarshalBytes(p).SequenceEqual(file.GetBytes(p.Name)), $"{p.Name} differs after conversion");
            // Loading the .pt directly gives the same model.
            using var direct = SamModel.Load(pt, TinyArch);
            using var converted = SamModel.Load(output);
            Assert.Equal(converted.Fingerprint, direct.Fingerprint);
            Assert.Equal(TinyArch, converted.Architecture);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static byte[] MemoryMarshalBytes(Parameter p) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.HalfBits).ToArray();

    [Fact]
    public void MobileSam_shapes_are_recognised_as_the_preset()
    {
        using var model = SamModel.Create(SamArchitecture.MobileSam, new GeneratedWeightSource(0));
        var shapes = model.Parameters.ToDictionary(p => p.Name, p => p.Shape);
        Assert.Equal(SamArchitecture.MobileSam, ArchitectureInference.FromShapes(shapes));
        shapes["image_encoder.layers.2.blocks.0.attn.attention_biases"] = [5, 49]; // a 7x7 window where the preset has 14
        Assert.Null(ArchitectureInference.FromShapes(shapes));
    }

    /// <summary>The full-size model.pt of fixtures-large/mobile_sam (the official state dict's layout) converts with the preset inferred.</summary>
    [LargeFixtureFact("mobile_sam"), Trait("Category", "Large")]
    public void Full_size_pt_converts_with_the_preset_inferred()
    {
        string dir = TestFiles.TempDir();
        try
        {
            string output = Path.Combine(dir, "mobile_sam.safetensors");
            var result = CheckpointConverter.Convert(Path.Combine(TestFixtures.Large("mobile_sam")!, "model.pt"), output);
            Assert.Equal(SamArchitecture.MobileSam, result.Architecture);
            using var converted = SamModel.Load(output);
            using var generated = SamModel.Load("generated:mobile_sam");
            Assert.Equal(generated.Fingerprint, converted.Fingerprint);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
