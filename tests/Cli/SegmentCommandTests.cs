using System.Text.Json;
using SamEngine.Imaging;
using SamEngine.Modeling;
using SamEngine.Tests.Checkpoints;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Tests.Cli;

public class SegmentCommandTests
{
    private static readonly string[] Tiny = ["--model", TestFiles.TinyModel, "--arch", TestFiles.TinyArch];

    [Fact]
    public void WritesMasksOverlayLogitsAndJsonThatMatchTheLibrary()
    {
        string outDir = Path.Combine(TestFiles.TempDir(), "out");
        var (code, stdout, stderr) = CliRunner.Run([
            "segment", .. Tiny, "--image", TestFiles.TinyImage, "--point", "81,76", "--point", "200,150,0",
            "--box", "10,20,150,120", "--multimask", "--out", outDir, "--json"]);
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Equal(File.ReadAllText(Path.Combine(outDir, "result.json")).Trim(), stdout.Trim());
        using var doc = JsonDocument.Parse(stdout);
        var masks = doc.RootElement.GetProperty("masks").EnumerateArray().ToList();
        Assert.Equal(3, masks.Count);

        using var model = SamModel.Load(TestFiles.TinyModel, SamEngine.Config.SamArchitecture.FromJson(File.ReadAllText(TestFiles.TinyArch)));
        var predictor = new SamPredictor(model);
        predictor.SetImage(TestFiles.TinyImage);
        var expected = predictor.Predict(new SamPrompt { Points = [(81f, 76f, 1), (200f, 150f, 0)], Box = [10, 20, 150, 120] }, multimask: true);
        int hw = expected.Height * expected.Width;
        for (int m = 0; m < 3; m++)
        {
            Assert.Equal(expected.IouPredictions[m], masks[m].GetProperty("score").GetSingle());
            using var png = Image.Load<L8>(Path.Combine(outDir, masks[m].GetProperty("file").GetString()!));
            Assert.Equal((expected.Width, expected.Height), (png.Width, png.Height));
            var bits = new byte[hw];
            png.CopyPixelDataTo(bits);
            Assert.Equal(expected.Masks.AsSpan(m * hw, hw).ToArray(), bits.Select(b => (byte)(b > 127 ? 1 : 0)).ToArray());
            Assert.Equal(expected.Masks.AsSpan(m * hw, hw).Count((byte)1), masks[m].GetProperty("area").GetInt32());
        }
        Assert.True(File.Exists(Path.Combine(outDir, "overlay.png")));
        Assert.True(File.Exists(Path.Combine(outDir, "logits.safetensors")));
        Assert.DoesNotContain(Directory.GetFiles(outDir), f => f.EndsWith(".tmp"));
    }

    [Fact]
    public void EmbeddingGivesTheSameMasksAsTheImage()
    {
        string dir = TestFiles.TempDir();
        string emb = Path.Combine(dir, "tiny.emb.safetensors");
        Assert.Equal(0, CliRunner.Run(["embed", .. Tiny, "--image", TestFiles.TinyImage, "--out", emb]).Code);
        var fromImage = CliRunner.Run(["segment", .. Tiny, "--image", TestFiles.TinyImage, "--box", "10,20,150,120", "--out", Path.Combine(dir, "a"), "--json"]);
        var fromEmb = CliRunner.Run(["segment", .. Tiny, "--embedding", emb, "--box", "10,20,150,120", "--out", Path.Combine(dir, "b"), "--json"]);
        Assert.True(fromEmb.Code == 0, fromEmb.Err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "a", "mask_0.png")), File.ReadAllBytes(Path.Combine(dir, "b", "mask_0.png")));
        double Score(string json) => JsonDocument.Parse(json).RootElement.GetProperty("masks")[0].GetProperty("score").GetDouble();
        Assert.Equal(Score(fromImage.Out), Score(fromEmb.Out));
    }

    [Fact]
    public void Int8PrecisionRunsOnCpuAndIsRefusedOnAGpuBackend()
    {
        string dir = TestFiles.TempDir();
        var ok = CliRunner.Run(["segment", .. Tiny, "--backend", "cpu", "--precision", "int8", "--image", TestFiles.TinyImage, "--point", "81,76",
            "--out", Path.Combine(dir, "a"), "--json"]);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.True(File.Exists(Path.Combine(dir, "a", "mask_0.png")));
        var refused = CliRunner.Run(["embed", .. Tiny, "--backend", "opencl", "--precision", "int8", "--image", TestFiles.TinyImage,
            "--out", Path.Combine(dir, "e.safetensors")]);
        Assert.Equal(2, refused.Code);
        Assert.Equal("samengine: error: --precision int8 is not available on backend 'opencl': int8 is a cpu backend path (use --backend cpu)",
            refused.Err.Trim());
        Assert.False(File.Exists(Path.Combine(dir, "e.safetensors")));
    }

    [Fact]
    public void MaskInputFromAnEarlierRunIsAccepted()
    {
        string dir = TestFiles.TempDir();
        Assert.Equal(0, CliRunner.Run(["segment", .. Tiny, "--image", TestFiles.TinyImage, "--point", "81,76", "--multimask", "--out", Path.Combine(dir, "a")]).Code);
        string logits = Path.Combine(dir, "a", "logits.safetensors") + "@mask_1";
        var r = CliRunner.Run(["segment", .. Tiny, "--image", TestFiles.TinyImage, "--point", "81,76", "--mask-input", logits, "--out", Path.Combine(dir, "b"), "--json"]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(logits, JsonDocument.Parse(r.Out).RootElement.GetProperty("mask_input").GetString());
    }

    [Fact]
    public void GeneratedWeightsPrintANotice()
    {
        var r = CliRunner.Run(["segment", "--model", "generated:vit_b", "--arch", TestFiles.TinyArch, "--image", TestFiles.TinyImage,
            "--point", "81,76", "--out", Path.Combine(TestFiles.TempDir(), "out")]);
        Assert.Equal(0, r.Code);
        Assert.Contains("meaningless", r.Err);
    }

    [Theory]
    [InlineData("segment")]
    [InlineData("embed")]
    [InlineData("info")]
    [InlineData("convert")]
    public void EveryVerbHasHelp(string verb)
    {
        var r = CliRunner.Run(verb, "--help");
        Assert.Equal(0, r.Code);
        Assert.StartsWith($"usage: samengine {verb}", r.Out);
    }

    [Fact]
    public void InfoDescribesTheModel()
    {
        var r = CliRunner.Run(["info", .. Tiny, "--json"]);
        Assert.True(r.Code == 0, r.Err);
        var root = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(112_140, root.GetProperty("parameters").GetInt64());
        Assert.Equal(32, root.GetProperty("architecture").GetProperty("embed_dim").GetInt32());
        Assert.Equal(new FileInfo(TestFiles.TinyModel).Length, root.GetProperty("file_bytes").GetInt64());
        Assert.StartsWith("F16", root.GetProperty("dtype").GetString());
    }

    [Fact]
    public void ConvertWritesACheckpointThatSegmentLoadsWithoutArch()
    {
        string dir = TestFiles.TempDir();
        string converted = Path.Combine(dir, "tiny.safetensors");
        var c = CliRunner.Run("convert", TestFiles.TinyPth, "--out", converted, "--arch", TestFiles.TinyArch);
        Assert.True(c.Code == 0, c.Err);
        var s = CliRunner.Run("segment", "--model", converted, "--image", TestFiles.TinyImage, "--point", "81,76", "--out", Path.Combine(dir, "out"));
        Assert.True(s.Code == 0, s.Err);
    }
}
