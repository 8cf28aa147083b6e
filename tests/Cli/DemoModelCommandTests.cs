using System.Net.Http.Json;
using System.Text.Json;
using SamEngine.Modeling;
using SamEngine.Tests.Browser;
using SamEngine.Tests.Checkpoints;

namespace SamEngine.Tests.Cli;

/// <summary>The shipped demo model is the default wherever a model is named: the verbs, batch, serve; without the generated-weights notice.</summary>
public sealed class DemoModelCommandTests
{
    private static readonly string Sample = TestFixtures.InRepository(Path.Combine("samples", "shapes.png"));

    [Fact]
    public void Segment_without_model_runs_the_demo_model_without_a_notice()
    {
        string dir = TestFiles.TempDir();
        var (code, stdout, stderr) = CliRunner.Run("segment", "--image", Sample, "--point", "200,300", "--multimask",
            "--backend", "cpu", "--out", Path.Combine(dir, "default"), "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        var record = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("demo", record.GetProperty("model").GetString());
        Assert.Equal(3, record.GetProperty("masks").GetArrayLength());
        Assert.True(File.Exists(Path.Combine(dir, "default", "overlay.png")));

        var named = CliRunner.Run("segment", "--model", "demo", "--image", Sample, "--point", "200,300", "--multimask",
            "--backend", "cpu", "--out", Path.Combine(dir, "named"), "--json");
        Assert.True(named.Code == 0, named.Err);
        Assert.Equal(Scores(stdout), Scores(named.Out));
        foreach (var png in Directory.GetFiles(Path.Combine(dir, "default"), "*.png"))
            Assert.Equal(File.ReadAllBytes(png), File.ReadAllBytes(Path.Combine(dir, "named", Path.GetFileName(png))));
    }

    [Fact]
    public void Info_without_model_describes_the_shipped_file()
    {
        var (code, stdout, stderr) = CliRunner.Run("info", "--backend", "cpu", "--json");
        Assert.True(code == 0, stderr);
        var record = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("demo", record.GetProperty("model").GetString());
        Assert.Equal(new FileInfo(ModelSource.DemoPath).Length, record.GetProperty("file_bytes").GetInt64());
        Assert.StartsWith("F16 (", record.GetProperty("dtype").GetString());
    }

    [Fact]
    public void Batch_embed_without_model_uses_the_demo_model()
    {
        string dir = TestFiles.TempDir(), images = Path.Combine(dir, "images"), outDir = Path.Combine(dir, "out");
        Directory.CreateDirectory(images);
        File.Copy(Sample, Path.Combine(images, "shapes.png"));
        var (code, _, stderr) = CliRunner.Run("embed", "--images", images, "--out", outDir, "--backend", "cpu");
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("notice", stderr);
        using var model = SamModel.Load(ModelSource.Demo);
        using var predictor = new SamPredictor(model);
        EmbeddingFile.Load(Path.Combine(outDir, "shapes.safetensors"), model, predictor); // refused if another model made it
        Assert.Equal((480, 640), (predictor.Embedding!.OriginalHeight, predictor.Embedding.OriginalWidth));
    }

    [Fact]
    public void Help_names_demo_as_the_model_default()
    {
        var (code, stdout, _) = CliRunner.Run("segment", "--help");
        Assert.Equal(0, code);
        Assert.Contains("(default: demo)", stdout);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Serve_runs_the_demo_model_by_default_and_by_name(bool named)
    {
        var server = new ServerProcess(named ? ["--model", "demo"] : []);
        try
        {
            await server.InitializeAsync();
            using var http = new HttpClient();
            var health = await http.GetFromJsonAsync<JsonElement>(server.BaseUrl + "healthz");
            Assert.Equal("demo", health.GetProperty("model").GetString());
            Assert.Contains("serve: demo on cpu", server.Log);
            Assert.DoesNotContain("notice", server.Log);
        }
        finally { await server.DisposeAsync(); }
    }

    private static List<float> Scores(string json) =>
        JsonDocument.Parse(json).RootElement.GetProperty("masks").EnumerateArray().Select(m => m.GetProperty("score").GetSingle()).ToList();
}
