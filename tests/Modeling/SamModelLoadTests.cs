using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Modeling;
using SamEngine.Weights;

namespace SamEngine.Tests.Modeling;

/// <summary>Loading checks every tensor against the architecture and names each problem.</summary>
public sealed class SamModelLoadTests
{
    private static string TinyModel => Path.Combine(TestFixtures.Local("tiny"), "model.safetensors");
    private static SamArchitecture TinyArch => SamArchitecture.FromJson(File.ReadAllText(Path.Combine(TestFixtures.Local("tiny"), "cases.json")));

    /// <summary>Rewrites the tiny model with <paramref name="edit"/> applied to its tensor list.</summary>
    private static string EditedTiny(Action<Dictionary<string, (int[] Shape, ushort[] Bits)>> edit, Dictionary<string, string>? metadata = null)
    {
        var tensors = new Dictionary<string, (int[], ushort[])>();
        using (var f = SafeTensorsFile.Open(TinyModel))
            foreach (var (name, info) in f.Tensors) tensors[name] = (info.Shape, f.ReadHalfBits(name).ToArray());
        edit(tensors);
        var w = new SafeTensorsWriter();
        foreach (var (name, (shape, bits)) in tensors) w.AddHalf(name, shape, bits);
        string path = Path.Combine(Path.GetTempPath(), $"edited-{Guid.NewGuid():N}.safetensors");
        w.Write(path, metadata);
        return path;
    }

    private static string LoadError(string path, SamArchitecture? arch = null)
    {
        try { return Assert.Throws<WeightException>(() => SamModel.Load(path, arch ?? TinyArch)).Message; }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Missing_tensor_is_named() =>
        Assert.Contains("missing tensor 'mask_decoder.iou_token.weight'", LoadError(EditedTiny(t => t.Remove("mask_decoder.iou_token.weight"))));

    [Fact]
    public void Unexpected_tensor_is_named() =>
        Assert.Contains("unexpected tensor 'extra.weight'", LoadError(EditedTiny(t => t["extra.weight"] = ([2], new ushort[2]))));

    [Fact]
    public void Misshapen_tensor_is_named() =>
        Assert.Contains("'image_encoder.pos_embed'", LoadError(EditedTiny(t => t["image_encoder.pos_embed"] = ([1, 8, 32, 32], new ushort[8 * 32 * 32]))));

    [Fact]
    public void Checkpoint_of_another_architecture_is_refused()
    {
        var msg = LoadError(EditedTiny(_ => { }), TinyArch with { Depth = 3 });
        Assert.Contains("image_encoder.blocks.2", msg);
    }

    [Fact]
    public void Preset_is_inferred_when_the_file_has_no_architecture()
    {
        // tiny is no preset: without --arch the loader must say it cannot tell.
        var e = Assert.Throws<WeightException>(() => SamModel.Load(TinyModel));
        Assert.Contains("cannot tell the architecture", e.Message);
    }

    [Fact]
    public void Loaded_weights_are_served_from_the_mapping_while_the_model_lives()
    {
        using var model = SamModel.Load(TinyModel, TinyArch); // holds the file until disposed
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        foreach (var p in model.Parameters)
        {
            Assert.False(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(p.Bits, out _), $"{p.Name} was copied");
            Assert.Equal(GeneratedWeights.Generate(p.Name, p.Shape, 0), p.HalfBits);
        }
    }

    [Fact]
    public void Generated_model_names_match_the_shipped_file_exactly()
    {
        var source = new GeneratedWeightSource(0);
        SamModel.Create(TinyArch, source);
        using var f = SafeTensorsFile.Open(TinyModel);
        Assert.Equal(f.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal), source.Generated.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (name, p) in source.Generated) Assert.Equal(f.ReadHalfBits(name).Span, p.HalfBits);
    }

    [Theory]
    [InlineData("generated:vit_q", "unknown architecture preset")]
    [InlineData("generated:vit_b:x", "expected generated:<preset>[:<seed>]")]
    public void Bad_generated_spec_is_explained(string spec, string expected) =>
        Assert.Contains(expected, Assert.ThrowsAny<ArgumentException>(() => SamModel.Load(spec)).Message);

    [Fact]
    public void Missing_model_file_is_named() =>
        Assert.Contains("nope.safetensors", Assert.Throws<FileNotFoundException>(() => SamModel.Load("nope.safetensors")).Message);

    private static string TinyPth => Path.Combine(TestFixtures.Local("tiny"), "model.pth");

    [Fact]
    public void Pth_loads_directly_with_the_parameters_convert_writes()
    {
        string converted = Path.Combine(Path.GetTempPath(), $"converted-{Guid.NewGuid():N}.safetensors");
        try
        {
            SamEngine.Checkpoints.CheckpointConverter.Convert(TinyPth, converted, SafeTensorDType.F16, TinyArch);
            using var fromPth = SamModel.Load(TinyPth, TinyArch);
            using var fromConverted = SamModel.Load(converted);
            Assert.Equal(TinyPth, fromPth.Description);
            Assert.Equal(fromConverted.Parameters.Select(p => p.Name), fromPth.Parameters.Select(p => p.Name));
            foreach (var (a, b) in fromConverted.Parameters.Zip(fromPth.Parameters))
            {
                Assert.Equal(a.Shape, b.Shape);
                Assert.True(a.HalfBits.SequenceEqual(b.HalfBits), $"{a.Name} differs");
            }
            Assert.Equal(fromConverted.Fingerprint, fromPth.Fingerprint);
        }
        finally { File.Delete(converted); }
    }

    [Fact]
    public void Pth_passes_parity_on_the_tiny_fixture()
    {
        // The tiny fixture with its weights as the official .pth instead of safetensors.
        string dir = Directory.CreateTempSubdirectory("samengine-pth-parity-").FullName;
        try
        {
            foreach (var f in new[] { "model.pth", "reference.safetensors", "image.png" })
                File.Copy(Path.Combine(TestFixtures.Local("tiny"), f), Path.Combine(dir, f));
            var cases = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(TestFixtures.Local("tiny"), "cases.json")))!;
            cases["weights"]!["shipped"] = "model.pth";
            File.WriteAllText(Path.Combine(dir, "cases.json"), cases.ToJsonString());
            var runner = new SamEngine.Parity.ParityRunner(dir);
            var results = runner.Run();
            Assert.True(results.Count >= 47, $"only {results.Count} tensors compared");
            Assert.All(results, r => Assert.True(r.Passed, $"{r.Name}: {r.Detail}"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void File_of_another_format_names_the_accepted_formats()
    {
        string path = Path.Combine(Path.GetTempPath(), $"notes-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, "these are not weights");
        try
        {
            var e = Assert.Throws<SamEngine.Checkpoints.CheckpointException>(() => SamModel.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("neither a safetensors file nor a PyTorch checkpoint", e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Weight_errors_name_the_file()
    {
        string path = EditedTiny(t => t.Remove("mask_decoder.iou_token.weight"));
        Assert.Contains($"'{path}'", LoadError(path));
    }

    [Fact]
    public void Tensors_of_the_wrong_rank_leave_the_architecture_unknown_instead_of_crashing()
    {
        string path = EditedTiny(t => t["image_encoder.patch_embed.proj.weight"] = ([], new ushort[1]));
        try
        {
            var e = Assert.Throws<WeightException>(() => SamModel.Load(path));
            Assert.Contains("cannot tell the architecture", e.Message);
            Assert.Contains(path, e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Invalid_architecture_metadata_is_a_checkpoint_error_naming_the_file()
    {
        string path = EditedTiny(_ => { }, new() { ["sam_architecture"] = "{\"depth\": \"two\"}" });
        try
        {
            var e = Assert.Throws<SamEngine.Checkpoints.CheckpointException>(() => SamModel.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("sam_architecture", e.Message);
        }
        finally { File.Delete(path); }
    }
}
