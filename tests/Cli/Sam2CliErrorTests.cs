using SamEngine.IO;
using SamEngine.Modeling;
using SamEngine.Tests.Checkpoints;

namespace SamEngine.Tests.Cli;

/// <summary>
/// Bad SAM 2.1 input gets what every bad input gets (<see cref="CliErrorTests.Fails"/>): one line
/// naming the problem, a non-zero exit and no file written.
/// </summary>
public class Sam2CliErrorTests
{
    private static string Sam2Model => Sam2SegmentCommandTests.Model;
    private static string Sam2Arch => Sam2SegmentCommandTests.Arch;
    private static string Image => Sam2SegmentCommandTests.Image;
    private static string OddArch => Path.Combine(AppContext.BaseDirectory, "fixtures", "sam2.1_odd", "cases.json");

    private static (string Dir, string Out) Scratch()
    {
        string dir = TestFiles.TempDir();
        return (dir, Path.Combine(dir, "out"));
    }

    private static string Segment(string dir, string outDir, string model, string? arch, params string[] extra) =>
        CliErrorTests.Fails(dir, outDir, ["segment", "--model", model, .. arch is null ? [] : new[] { "--arch", arch }, .. extra, "--out", outDir]);

    /// <summary>Writes the tensors of <paramref name="source"/> whose names do not start with <paramref name="dropPrefix"/>, with no metadata.</summary>
    private static string Without(string source, string dropPrefix, string dest)
    {
        using var file = SafeTensorsFile.Open(source);
        var writer = new SafeTensorsWriter();
        int dropped = 0;
        foreach (var (name, info) in file.Tensors)
        {
            if (name.StartsWith(dropPrefix, StringComparison.Ordinal)) dropped++;
            else writer.Add(name, info.DType, info.Shape, file.GetBytes(name));
        }
        Assert.True(dropped > 0, $"'{source}' has no '{dropPrefix}' tensors to drop");
        writer.Write(dest);
        return dest;
    }

    [Fact]
    public void Sam1WeightsWithASam2Architecture()
    {
        var (dir, o) = Scratch();
        Assert.Contains("SAM 1 weights", Segment(dir, o, TestFiles.TinyModel, Sam2Arch, "--image", Image, "--point", "1,1"));
        Assert.Contains("SAM 1 weights", Segment(dir, o, TestFiles.TinyModel, "sam2.1_hiera_t", "--image", Image, "--point", "1,1"));
        string outFile = Path.Combine(dir, "x.safetensors");
        Assert.Contains("SAM 1 weights", CliErrorTests.Fails(dir, outFile, "convert", TestFiles.TinyPth, "--out", outFile, "--arch", Sam2Arch));
    }

    [Fact]
    public void Sam2WeightsWithASam1Architecture()
    {
        var (dir, o) = Scratch();
        Assert.Contains("SAM 2.1 weights", Segment(dir, o, Sam2Model, TestFiles.TinyArch, "--image", Image, "--point", "1,1"));
        Assert.Contains("SAM 2.1 weights", Segment(dir, o, Sam2Model, "vit_b", "--image", Image, "--point", "1,1"));
        string outFile = Path.Combine(dir, "x.safetensors");
        Assert.Contains("SAM 2.1 weights", CliErrorTests.Fails(dir, outFile, "convert", Sam2SegmentCommandTests.Pt, "--out", outFile, "--arch", TestFiles.TinyArch));
    }

    [Fact]
    public void CheckpointMissingATrunkBlock()
    {
        var (dir, o) = Scratch();
        string broken = Without(Sam2Model, "image_encoder.trunk.blocks.3.", Path.Combine(dir, "broken.safetensors"));
        Assert.Contains("image_encoder.trunk.blocks.3.", Segment(dir, o, broken, Sam2Arch, "--image", Image, "--point", "1,1"));
        string outFile = Path.Combine(dir, "x.safetensors");
        Assert.Contains("image_encoder.trunk.blocks.3.", CliErrorTests.Fails(dir, outFile, "convert", broken, "--out", outFile, "--arch", Sam2Arch));
    }

    [Fact]
    public void PresetCheckpointMissingATrunkBlockIsNamedWithoutArch()
    {
        // A hiera_t checkpoint (no metadata: the architecture comes from the shapes) without block 3.
        var (dir, o) = Scratch();
        string full = Path.Combine(dir, "hiera_t.safetensors");
        using (var model = SamModel.Load("generated:sam2.1_hiera_t"))
        {
            var writer = new SafeTensorsWriter();
            foreach (var p in model.Parameters) writer.AddHalf(p.Name, p.Shape, p.HalfBits.ToArray());
            writer.Write(full);
        }
        using (var loaded = SamModel.Load(full)) Assert.Equal(SamEngine.Config.SamArchitecture.Sam21HieraT, loaded.Architecture);
        string broken = Without(full, "image_encoder.trunk.blocks.3.", Path.Combine(dir, "broken.safetensors"));
        File.Delete(full);
        Assert.Contains("image_encoder.trunk.blocks.3.", Segment(dir, o, broken, null, "--image", Image, "--point", "1,1"));
    }

    [Fact]
    public void ArchitectureThatDoesNotMatchTheShapes()
    {
        var (dir, o) = Scratch();
        string line = Segment(dir, o, Sam2Model, OddArch, "--image", Image, "--point", "1,1");
        Assert.Contains("do not match the architecture", line);
        Assert.Contains("image_encoder.trunk.patch_embed.proj.weight", line);
        string outFile = Path.Combine(dir, "x.safetensors");
        Assert.Contains("do not match the architecture", CliErrorTests.Fails(dir, outFile, "convert", Sam2SegmentCommandTests.Pt, "--out", outFile, "--arch", OddArch));
    }

    [Theory]
    [InlineData("--point", "300.5,10", "outside")]
    [InlineData("--box", "0,0,301,100", "outside")]
    [InlineData("--box", "100,10,50,60", "x1 < x0")]
    public void BadPromptsAreFoundBeforeTheEncoder(string option, string value, string named)
    {
        var (dir, o) = Scratch();
        Assert.Contains(named, Segment(dir, o, Sam2Model, Sam2Arch, "--image", Image, option, value));
    }

    [Fact]
    public void MaskInputOfTheWrongSize()
    {
        var (dir, o) = Scratch();
        string mask = Path.Combine(dir, "mask.safetensors");
        var w = new SafeTensorsWriter();
        w.AddFloat32("m", [1, 10, 10], new float[100]);
        w.Write(mask);
        Assert.Contains("64 x 64", Segment(dir, o, Sam2Model, Sam2Arch, "--image", Image, "--point", "1,1", "--mask-input", mask));
    }

    [Fact]
    public void EmbeddingOfTheOtherFamily()
    {
        var (dir, o) = Scratch();
        string sam1Emb = Path.Combine(dir, "sam1.safetensors"), sam2Emb = Path.Combine(dir, "sam2.safetensors");
        Assert.Equal(0, CliRunner.Run("embed", "--model", TestFiles.TinyModel, "--arch", TestFiles.TinyArch, "--image", Image, "--out", sam1Emb).Code);
        Assert.Equal(0, CliRunner.Run("embed", "--model", Sam2Model, "--arch", Sam2Arch, "--image", Image, "--out", sam2Emb).Code);
        Assert.Contains("SAM 1 embedding", Segment(dir, o, Sam2Model, Sam2Arch, "--embedding", sam1Emb, "--point", "1,1"));
        Assert.Contains("SAM 2.1 embedding", Segment(dir, o, TestFiles.TinyModel, TestFiles.TinyArch, "--embedding", sam2Emb, "--point", "1,1"));
    }
}
