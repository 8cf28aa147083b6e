using System.Text.Json;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Imaging;
using SamEngine.Modeling;
using SamEngine.Tests.Checkpoints;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Tests.Cli;

/// <summary>
/// <c>segment</c>, <c>embed</c> and <c>info</c> on SAM 2.1, driven in-process on the sam2.1_tiny fixture
/// (whose window sizes and global blocks are not presets', so it needs <c>--arch</c>), each checked
/// against the library's predictor doing the same.
/// </summary>
public class Sam2SegmentCommandTests
{
    internal static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "sam2.1_tiny");
    internal static string Model => Path.Combine(Dir, "model.safetensors");
    internal static string Pt => Path.Combine(Dir, "model.pt");
    internal static string Arch => Path.Combine(Dir, "cases.json");
    internal static string Image => Path.Combine(Dir, "image.png");
    private static readonly string[] Tiny = ["--model", Model, "--arch", Arch];

    private static readonly Lazy<SamModel> Library = new(() => SamModel.Load(Model, SamArchitecture.FromJson(File.ReadAllText(Arch))));

    /// <summary>What the library predicts for <paramref name="prompt"/> on the fixture image.</summary>
    private static SamPrediction Expected(SamPrompt prompt, bool multimask)
    {
        using var predictor = new SamPredictor(Library.Value);
        predictor.SetImage(Image);
        return predictor.Predict(prompt, multimask);
    }

    /// <summary>Runs segment, checks it succeeded quietly, returns its JSON record.</summary>
    private static JsonElement Segment(params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(["segment", .. args, "--json"]);
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        return JsonDocument.Parse(stdout).RootElement;
    }

    /// <summary>Each mask PNG of <paramref name="outDir"/>, its score and its logits equal the prediction's.</summary>
    private static void AssertOutputsAre(SamPrediction expected, JsonElement record, string outDir)
    {
        var masks = record.GetProperty("masks").EnumerateArray().ToList();
        Assert.Equal(expected.MaskCount, masks.Count);
        int hw = expected.Height * expected.Width, lr = expected.LowResSize;
        using var logits = SafeTensorsFile.Open(Path.Combine(outDir, "logits.safetensors"));
        for (int m = 0; m < expected.MaskCount; m++)
        {
            Assert.Equal(expected.IouPredictions[m], masks[m].GetProperty("score").GetSingle());
            using var png = SixLabors.ImageSharp.Image.Load<L8>(Path.Combine(outDir, masks[m].GetProperty("file").GetString()!));
            Assert.Equal((expected.Width, expected.Height), (png.Width, png.Height));
            var bits = new byte[hw];
            png.CopyPixelDataTo(bits);
            Assert.Equal(expected.Masks.AsSpan(m * hw, hw).ToArray(), bits.Select(b => (byte)(b > 127 ? 1 : 0)).ToArray());
            Assert.Equal(expected.LowResLogits.AsSpan(m * lr * lr, lr * lr).ToArray(), logits.ReadFloat32($"mask_{m}"));
        }
    }

    [Fact]
    public void PointsBoxAndMultimaskGiveTheLibrarysMasks()
    {
        string outDir = Path.Combine(TestFiles.TempDir(), "out");
        var record = Segment([.. Tiny, "--image", Image, "--point", "81,76", "--point", "200,150,0", "--box", "10,20,150,120", "--multimask", "--out", outDir]);
        Assert.Equal(3, record.GetProperty("masks").GetArrayLength());
        AssertOutputsAre(Expected(new SamPrompt { Points = [(81f, 76f, 1), (200f, 150f, 0)], Box = [10, 20, 150, 120] }, multimask: true), record, outDir);
        Assert.True(File.Exists(Path.Combine(outDir, "overlay.png")));
    }

    [Fact]
    public void OnePointWithoutMultimaskGivesOneMask()
    {
        string outDir = Path.Combine(TestFiles.TempDir(), "out");
        var record = Segment([.. Tiny, "--image", Image, "--point", "81,76", "--out", outDir]);
        AssertOutputsAre(Expected(new SamPrompt { Points = [(81f, 76f, 1)] }, multimask: false), record, outDir);
    }

    [Fact]
    public void MaskInputFromAnEarlierRunIsUsed()
    {
        string dir = TestFiles.TempDir();
        Segment([.. Tiny, "--image", Image, "--point", "81,76", "--multimask", "--out", Path.Combine(dir, "a")]);
        string logitsFile = Path.Combine(dir, "a", "logits.safetensors");
        float[] mask0;
        using (var f = SafeTensorsFile.Open(logitsFile)) mask0 = f.ReadFloat32("mask_0");
        var record = Segment([.. Tiny, "--image", Image, "--point", "81,76", "--mask-input", logitsFile + "@mask_0", "--out", Path.Combine(dir, "b")]);
        var expected = Expected(new SamPrompt { Points = [(81f, 76f, 1)], MaskInput = mask0 }, multimask: false);
        AssertOutputsAre(expected, record, Path.Combine(dir, "b"));
        // The mask input changed the answer: without it the same point predicts another IoU.
        Assert.NotEqual(Expected(new SamPrompt { Points = [(81f, 76f, 1)] }, multimask: false).IouPredictions[0], expected.IouPredictions[0]);
    }

    [Fact]
    public void EmbeddingGivesTheSameMasksAndLogitsAsTheImage()
    {
        string dir = TestFiles.TempDir();
        string emb = Path.Combine(dir, "tiny.emb.safetensors");
        var e = CliRunner.Run(["embed", .. Tiny, "--image", Image, "--out", emb]);
        Assert.True(e.Code == 0, e.Err);
        using (var file = SafeTensorsFile.Open(emb))
            Assert.Equal(["high_res_feats_0", "high_res_feats_1", "image_embeddings"], file.Tensors.Keys.Order(StringComparer.Ordinal));
        string[] prompt = ["--point", "81,76", "--point", "200,150,0", "--box", "10,20,150,120", "--multimask"];
        var fromImage = Segment([.. Tiny, "--image", Image, .. prompt, "--out", Path.Combine(dir, "a")]);
        var fromEmb = Segment([.. Tiny, "--embedding", emb, .. prompt, "--out", Path.Combine(dir, "b")]);
        for (int m = 0; m < 3; m++)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "a", $"mask_{m}.png")), File.ReadAllBytes(Path.Combine(dir, "b", $"mask_{m}.png")));
            Assert.Equal(fromImage.GetProperty("masks")[m].GetProperty("score").GetSingle(), fromEmb.GetProperty("masks")[m].GetProperty("score").GetSingle());
        }
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "a", "logits.safetensors")), File.ReadAllBytes(Path.Combine(dir, "b", "logits.safetensors")));
    }

    [Fact]
    public void InfoLoadsTheGeneratedHieraTPreset()
    {
        var r = CliRunner.Run("info", "--model", "generated:sam2.1_hiera_t", "--json");
        Assert.True(r.Code == 0, r.Err);
        var root = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(SamArchitecture.Sam21HieraT, SamArchitecture.FromJson(root.GetProperty("architecture").GetRawText()));
        using var model = SamModel.Load("generated:sam2.1_hiera_t");
        Assert.Equal(model.ParameterCount, root.GetProperty("parameters").GetInt64());
        Assert.Equal(model.Fingerprint, root.GetProperty("fingerprint").GetString());
    }
}
