using System.Text.Json;
using SamEngine.Amg;
using SamEngine.Cli;

namespace SamEngine.Tests.Amg;

/// <summary><c>samengine amg</c> end to end on the tiny fixture.</summary>
public sealed class AmgCommandTests() : TempDirectoryTests("samengine-amg-")
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny", name);

    private (int Code, string Out, string Err) Run(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int code = CliMain.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void WritesValidJsonAndAnOverlay()
    {
        string json = Path.Combine(TempDir, "anns.json"), overlay = Path.Combine(TempDir, "overlay.png");
        var (code, _, err) = Run("amg", "--model", Fixture("model.safetensors"), "--arch", Fixture("cases.json"),
            "--image", Fixture("image.png"), "--out", json, "--overlay", overlay, "--points-per-side", "4",
            "--pred-iou-thresh", "0", "--stability-score-thresh", "0.6", "--stability-score-offset", "0.05", "--crop-n-layers", "1");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.NotEqual(0, doc.RootElement.GetArrayLength());
        foreach (var r in doc.RootElement.EnumerateArray())
        {
            var seg = r.GetProperty("segmentation");
            var rle = CocoRle.Decode(seg.GetProperty("size")[0].GetInt32(), seg.GetProperty("size")[1].GetInt32(), seg.GetProperty("counts").GetString()!);
            Assert.Equal((200, 300), (rle.Height, rle.Width));
            Assert.Equal(rle.Area, r.GetProperty("area").GetInt32());
        }
        var png = File.ReadAllBytes(overlay);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.Empty(Directory.GetFiles(TempDir, "*.tmp"));
    }

    [Fact]
    public void BadInputsGiveOneLineErrors()
    {
        string json = Path.Combine(TempDir, "anns.json");
        var cases = new[]
        {
            (new[] { "amg", "--model", Fixture("model.safetensors"), "--image", Fixture("image.png") }, 2),                       // no --out
            (new[] { "amg", "--model", Fixture("model.safetensors"), "--image", Fixture("image.png"), "--out", json, "--points-per-side", "x" }, 2),
            (new[] { "amg", "--model", Fixture("model.safetensors"), "--image", Fixture("image.png"), "--out", json, "--output-mode", "png" }, 2),
            (new[] { "amg", "--model", Fixture("model.safetensors"), "--image", Fixture("missing.png"), "--out", json }, 1),
            (new[] { "amg", "--model", Fixture("model.safetensors"), "--image", Fixture("cases.json"), "--out", json }, 1),  // not an image
            (new[] { "amg", "--model", Fixture("model.safetensors"), "--image", Fixture("image.png"), "--out", json, "--points-per-batch", "0" }, 1),
            (new[] { "amg", "--model", Fixture("model.safetensors"), "--image", Fixture("image.png"), "--out", json, "--multimask-output", "no" }, 2),
            (new[] { "amg", "--model", Fixture("model.safetensors"), "--image", Fixture("image.png"), "--out", json, "--use-m2m" }, 1),     // SAM 2.1 only
            (new[] { "amg", "--model", Fixture("model.safetensors"), "--image", Fixture("image.png"), "--out", json, "--multimask-output", "false" }, 1),
        };
        foreach (var (args, expected) in cases)
        {
            var (code, _, err) = Run(args);
            Assert.Equal(expected, code);
            Assert.StartsWith("samengine: error: ", err);
            Assert.Single(err.TrimEnd().Split('\n'));
        }
        Assert.False(File.Exists(json));
    }

    [Fact]
    public void HelpListsTheOptions()
    {
        var (code, output, _) = Run("amg", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--points-per-side", "--crop-n-points-downscale-factor", "--min-mask-region-area", "--output-mode", "--overlay", "--use-m2m", "--multimask-output" })
            Assert.Contains(option, output);
    }
}
