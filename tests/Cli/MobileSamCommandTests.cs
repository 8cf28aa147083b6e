using System.Text.Json;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Imaging;
using SamEngine.Modeling;
using SamEngine.Tests.Checkpoints;

namespace SamEngine.Tests.Cli;

/// <summary>
/// <c>segment</c>, <c>embed</c>, <c>info</c> and <c>bench</c> on MobileSAM, in-process, on the
/// mobile_sam_tiny architecture with generated weights (<c>--model generated:mobile_sam --arch cases.json</c>),
/// checked against the library's predictor doing the same.
/// </summary>
public sealed class MobileSamCommandTests
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "mobile_sam_tiny");
    private static string Arch => Path.Combine(Dir, "cases.json");
    private static string Image => Path.Combine(Dir, "image.png");
    private static readonly string[] Tiny = ["--model", "generated:mobile_sam", "--arch", Arch];

    private static JsonElement Segment(params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(["segment", .. args, "--json"]);
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement;
    }

    [Fact]
    public void Segment_gives_the_librarys_masks_and_so_does_its_embedding()
    {
        string dir = TestFiles.TempDir();
        string[] prompt = ["--point", "30,40", "--point", "70,90,0", "--box", "10,20,80,100", "--multimask"];
        var record = Segment([.. Tiny, "--image", Image, .. prompt, "--out", Path.Combine(dir, "a")]);
        using var model = SamModel.Load("generated:mobile_sam", SamArchitecture.FromJson(File.ReadAllText(Arch)));
        using var predictor = new SamPredictor(model);
        predictor.SetImage(Image);
        var expected = predictor.Predict(new SamPrompt { Points = [(30f, 40f, 1), (70f, 90f, 0)], Box = [10, 20, 80, 100] }, multimask: true);
        var masks = record.GetProperty("masks").EnumerateArray().ToList();
        Assert.Equal(3, masks.Count);
        using (var logits = SafeTensorsFile.Open(Path.Combine(dir, "a", "logits.safetensors")))
            for (int m = 0; m < 3; m++)
            {
                Assert.Equal(expected.IouPredictions[m], masks[m].GetProperty("score").GetSingle());
                int lr = expected.LowResSize;
                Assert.Equal(expected.LowResLogits.AsSpan(m * lr * lr, lr * lr).ToArray(), logits.ReadFloat32($"mask_{m}"));
            }
        string emb = Path.Combine(dir, "image.samemb");
        var e = CliRunner.Run(["embed", .. Tiny, "--image", Image, "--out", emb]);
        Assert.True(e.Code == 0, e.Err);
        var fromEmb = Segment([.. Tiny, "--embedding", emb, .. prompt, "--out", Path.Combine(dir, "b")]);
        Assert.Equal(record.GetProperty("masks").GetRawText(), fromEmb.GetProperty("masks").GetRawText());
    }

    [Fact]
    public void Info_describes_the_TinyVit_preset()
    {
        var r = CliRunner.Run("info", "--model", "generated:mobile_sam");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("MobileSAM TinyViT: embed_dims [64, 128, 160, 320], depths [2, 2, 6, 2], heads [2, 4, 5, 10], windows [7, 7, 14, 7]", r.Out);
        var json = CliRunner.Run("info", "--model", "generated:mobile_sam", "--json");
        Assert.Equal(SamArchitecture.MobileSam, SamArchitecture.FromJson(JsonDocument.Parse(json.Out).RootElement.GetProperty("architecture").GetRawText()));
    }

    [Fact]
    public void Bench_reports_the_TinyVit_encoder_as_a_fraction_of_peak()
    {
        var (code, stdout, stderr) = CliRunner.Run(["bench", .. Tiny, "--runs", "1", "--encoder-only"]);
        Assert.True(code == 0, stderr);
        Assert.Matches(@"encoder\s+[0-9.]+ ms\s+[0-9.]+ GFLOP/s = [0-9.]+ % of peak", stdout);
    }
}
