using SamEngine.Checkpoints;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Weights;

namespace SamEngine.Tests.Checkpoints;

public class CheckpointConverterTests
{
    private static SamArchitecture TinyArch => SamArchitecture.FromJson(File.ReadAllText(TestFiles.TinyArch));

    /// <summary>Asserts two safetensors files hold the same tensor names, dtypes, shapes and bytes.</summary>
    internal static void AssertSameTensors(string expectedPath, string actualPath)
    {
        using var expected = SafeTensorsFile.Open(expectedPath);
        using var actual = SafeTensorsFile.Open(actualPath);
        Assert.Equal(expected.Tensors.Keys.Order(), actual.Tensors.Keys.Order());
        foreach (var (name, info) in expected.Tensors)
        {
            var a = actual.Info(name);
            Assert.Equal(info.DType, a.DType);
            Assert.Equal(info.Shape, a.Shape);
            Assert.True(expected.GetBytes(name).SequenceEqual(actual.GetBytes(name)), $"tensor '{name}' differs");
        }
    }

    [Fact]
    public void PthConvertsToTheShippedSafetensors()
    {
        string outPath = Path.Combine(TestFiles.TempDir(), "tiny.safetensors");
        var result = CheckpointConverter.Convert(TestFiles.TinyPth, outPath, SafeTensorDType.F16, TinyArch);
        AssertSameTensors(TestFiles.TinyModel, outPath);
        Assert.Equal(174, result.TensorCount);
        Assert.False(result.HuggingFaceNames);
        using var f = SafeTensorsFile.Open(outPath);
        Assert.Equal(TinyArch, SamArchitecture.FromJson(f.Metadata["sam_architecture"]));
    }

    [Fact]
    public void ConvertedFileLoadsWithoutArch()
    {
        string outPath = Path.Combine(TestFiles.TempDir(), "tiny.safetensors");
        CheckpointConverter.Convert(TestFiles.TinyPth, outPath, SafeTensorDType.F16, TinyArch);
        using var model = SamEngine.Modeling.SamModel.Load(outPath);
        Assert.Equal(TinyArch, model.Architecture);
    }

    [Fact]
    public void F32OutputKeepsThePthValuesExactly()
    {
        string dir = TestFiles.TempDir();
        string f32 = Path.Combine(dir, "f32.safetensors");
        CheckpointConverter.Convert(TestFiles.TinyPth, f32, SafeTensorDType.F32, TinyArch);
        using var reader = CheckpointReader.Open(TestFiles.TinyPth);
        using var file = SafeTensorsFile.Open(f32);
        foreach (var t in reader.Tensors)
        {
            Assert.Equal(SafeTensorDType.F32, file.Info(t.Name).DType);
            Assert.True(reader.ReadBytes(t).AsSpan().SequenceEqual(file.GetBytes(t.Name)), t.Name);
        }
        // Converting the f32 file again to f16 gives the shipped fp16 file: safetensors input works too.
        string f16 = Path.Combine(dir, "f16.safetensors");
        CheckpointConverter.Convert(f32, f16);
        AssertSameTensors(TestFiles.TinyModel, f16);
    }

    [Fact]
    public void Bf16RoundsToNearestEven()
    {
        Assert.Equal(0x3F80, CheckpointConverter.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808000))); // tie, even stays
        Assert.Equal(0x3F82, CheckpointConverter.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F818000))); // tie, odd rounds up
        Assert.Equal(0x3F81, CheckpointConverter.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F80C000))); // above half
        Assert.True(float.IsNaN(Fp16.BFloat16ToFloat(CheckpointConverter.ToBFloat16(float.NaN))));
        string outPath = Path.Combine(TestFiles.TempDir(), "bf16.safetensors");
        CheckpointConverter.Convert(TestFiles.TinyPth, outPath, SafeTensorDType.BF16, TinyArch);
        using var f = SafeTensorsFile.Open(outPath);
        Assert.All(f.Tensors.Values, t => Assert.Equal(SafeTensorDType.BF16, t.DType));
    }

    [Fact]
    public void AnotherArchitectureIsRefusedAndNothingIsWritten()
    {
        string dir = TestFiles.TempDir();
        var e = Assert.Throws<WeightException>(() => CheckpointConverter.Convert(TestFiles.TinyPth, Path.Combine(dir, "x.safetensors"), arch: SamArchitecture.VitB));
        Assert.Contains("image_encoder.patch_embed.proj.weight", e.Message);
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void UnknownArchitectureAsksForArch()
    {
        string dir = TestFiles.TempDir();
        var e = Assert.Throws<WeightException>(() => CheckpointConverter.Convert(TestFiles.TinyPth, Path.Combine(dir, "x.safetensors")));
        Assert.Contains("--arch", e.Message);
        Assert.DoesNotContain(".check", e.Message);
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void LoadedModelWritesBackToTheSameWeightsAndFingerprint()
    {
        // The tiny fixture's weights are the generated ones (seed 0): a generated model written out
        // gives the shipped file's tensors, and loading either gives the same fingerprint.
        using var generated = SamEngine.Modeling.SamModel.Create(TinyArch, new GeneratedWeightSource(0));
        string outPath = Path.Combine(TestFiles.TempDir(), "written.safetensors");
        var result = CheckpointConverter.Write(generated, outPath);
        Assert.Equal(generated.Parameters.Count, result.TensorCount);
        using var f = SafeTensorsFile.Open(outPath);
        Assert.Equal(TinyArch, SamArchitecture.FromJson(f.Metadata["sam_architecture"]));
        foreach (var p in generated.Parameters)
            Assert.Equal(p.HalfBits, f.ReadHalfBits(p.Name).Span);

        using var loaded = SamEngine.Modeling.SamModel.Load(outPath);
        using var shipped = SamEngine.Modeling.SamModel.Load(TestFiles.TinyModel, TinyArch);
        Assert.Equal(generated.Fingerprint, loaded.Fingerprint);
        Assert.Equal(shipped.Fingerprint, loaded.Fingerprint);
        using var otherSeed = SamEngine.Modeling.SamModel.Create(TinyArch, new GeneratedWeightSource(1));
        Assert.NotEqual(generated.Fingerprint, otherSeed.Fingerprint);
    }

    [Fact]
    public void InvalidArchitectureMetadataIsACheckpointErrorNamingTheInput()
    {
        string dir = TestFiles.TempDir();
        string input = Path.Combine(dir, "bad-meta.safetensors");
        var w = new SafeTensorsWriter();
        using (var f = SafeTensorsFile.Open(TestFiles.TinyModel))
            foreach (var name in f.Tensors.Keys) w.AddHalf(name, f.Info(name).Shape, f.ReadHalfBits(name).ToArray());
        w.Write(input, new Dictionary<string, string> { ["sam_architecture"] = "{\"embed_dim\": -3}" });
        var e = Assert.Throws<CheckpointException>(() => CheckpointConverter.Convert(input, Path.Combine(dir, "out.safetensors")));
        Assert.Contains(input, e.Message);
        Assert.Contains("sam_architecture", e.Message);
        Assert.False(File.Exists(Path.Combine(dir, "out.safetensors")));
    }
}
