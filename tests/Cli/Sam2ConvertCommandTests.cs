using SamEngine.Checkpoints;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Tests.Checkpoints;

namespace SamEngine.Tests.Cli;

/// <summary>
/// <c>convert</c> of an official-layout SAM 2.1 checkpoint (<c>model.pt</c>: <c>{"model": state_dict}</c>
/// with the video-only tensors, as the fixture script writes it), and the converted or original file
/// used as <c>--model</c>.
/// </summary>
public class Sam2ConvertCommandTests
{
    private static string Dir => Sam2SegmentCommandTests.Dir;
    private static string Image => Sam2SegmentCommandTests.Image;
    private static string Arch => Sam2SegmentCommandTests.Arch;

    [Fact]
    public void PtConvertsToTheShippedSafetensorsNamingTheIgnoredVideoTensors()
    {
        string outPath = Path.Combine(TestFiles.TempDir(), "x.safetensors");
        var r = CliRunner.Run("convert", Sam2SegmentCommandTests.Pt, "--out", outPath, "--arch", Arch);
        Assert.True(r.Code == 0, r.Err);
        CheckpointConverterTests.AssertSameTensors(Sam2SegmentCommandTests.Model, outPath);
        using (var f = SafeTensorsFile.Open(outPath))
        {
            Assert.All(f.Tensors.Values, t => Assert.Equal(SafeTensorDType.F16, t.DType));
            Assert.Equal(SamArchitecture.FromJson(File.ReadAllText(Arch)), SamArchitecture.FromJson(f.Metadata["sam_architecture"]));
        }
        // One notice line naming every ignored group, each of which the .pt holds.
        string notice = Assert.Single(r.Out.Split('\n'), l => l.Contains("video-only"));
        using var reader = CheckpointReader.Open(Sam2SegmentCommandTests.Pt);
        Assert.NotEmpty(reader.IgnoredVideoTensors);
        foreach (var group in reader.IgnoredVideoTensors.Select(n => n.Split('.')[0]).Distinct())
            Assert.Contains(group, notice);
        Assert.Contains($"ignored {reader.IgnoredVideoTensors.Count} ", notice);
    }

    [Fact]
    public void Sam1ConvertPrintsNoVideoNotice()
    {
        var r = CliRunner.Run("convert", TestFiles.TinyPth, "--out", Path.Combine(TestFiles.TempDir(), "x.safetensors"), "--arch", TestFiles.TinyArch);
        Assert.True(r.Code == 0, r.Err);
        Assert.DoesNotContain("video-only", r.Out);
    }

    [Fact]
    public void ConvertedFileAndThePtItselfSegmentAsTheShippedWeights()
    {
        string dir = TestFiles.TempDir();
        string converted = Path.Combine(dir, "x.safetensors");
        Assert.Equal(0, CliRunner.Run("convert", Sam2SegmentCommandTests.Pt, "--out", converted, "--arch", Arch).Code);
        string[] prompt = ["--image", Image, "--point", "81,76", "--box", "10,20,150,120", "--multimask"];
        string Segment(string name, params string[] model)
        {
            var r = CliRunner.Run(["segment", .. model, .. prompt, "--out", Path.Combine(dir, name)]);
            Assert.True(r.Code == 0, r.Err);
            return Path.Combine(dir, name, "logits.safetensors");
        }
        string shipped = Segment("shipped", "--model", Sam2SegmentCommandTests.Model, "--arch", Arch);
        string noArch = Segment("converted", "--model", converted);
        string pt = Segment("pt", "--model", Sam2SegmentCommandTests.Pt, "--arch", Arch);
        Assert.Equal(File.ReadAllBytes(shipped), File.ReadAllBytes(noArch));
        Assert.Equal(File.ReadAllBytes(shipped), File.ReadAllBytes(pt));
        for (int m = 0; m < 3; m++)
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "shipped", $"mask_{m}.png")), File.ReadAllBytes(Path.Combine(dir, "converted", $"mask_{m}.png")));
    }
}
