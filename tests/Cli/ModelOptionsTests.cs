using System.Text.Json;
using SamEngine.Tests.Checkpoints;

namespace SamEngine.Tests.Cli;

/// <summary>What <c>--model</c> accepts: safetensors, the official PyTorch .pth directly, and nothing else.</summary>
public sealed class ModelOptionsTests
{
    private static string[] Segment(string model, string outDir) =>
        ["segment", "--model", model, "--arch", TestFiles.TinyArch, "--image", TestFiles.TinyImage,
         "--point", "81,76", "--multimask", "--out", outDir, "--json"];

    private static List<float> Scores(string json) =>
        JsonDocument.Parse(json).RootElement.GetProperty("masks").EnumerateArray().Select(m => m.GetProperty("score").GetSingle()).ToList();

    [Fact]
    public void Pth_model_segments_as_the_converted_safetensors_does()
    {
        string dir = TestFiles.TempDir();
        var (code, fromPth, err) = CliRunner.Run(Segment(TestFiles.TinyPth, Path.Combine(dir, "pth")));
        Assert.True(code == 0, err);
        var (code2, fromSafetensors, err2) = CliRunner.Run(Segment(TestFiles.TinyModel, Path.Combine(dir, "st")));
        Assert.True(code2 == 0, err2);
        Assert.Equal(Scores(fromSafetensors), Scores(fromPth));
        foreach (var png in Directory.GetFiles(Path.Combine(dir, "st"), "*.png"))
            Assert.Equal(File.ReadAllBytes(png), File.ReadAllBytes(Path.Combine(dir, "pth", Path.GetFileName(png))));
    }

    [Fact]
    public void Model_of_another_format_is_one_error_line_naming_the_formats()
    {
        string dir = TestFiles.TempDir();
        string model = Path.Combine(dir, "weights.bin");
        File.WriteAllText(model, "not a checkpoint at all");
        var (code, stdout, stderr) = CliRunner.Run(Segment(model, Path.Combine(dir, "out")));
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith("samengine: error: ", line);
        Assert.Contains(model, line);
        Assert.Contains("neither a safetensors file nor a PyTorch checkpoint", line);
    }

    [Fact]
    public void Info_describes_a_pth_model()
    {
        var (code, stdout, stderr) = CliRunner.Run("info", "--model", TestFiles.TinyPth, "--arch", TestFiles.TinyArch, "--backend", "cpu", "--json");
        Assert.True(code == 0, stderr);
        var record = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("F32 (174 tensors)", record.GetProperty("dtype").GetString());
        Assert.Equal(new FileInfo(TestFiles.TinyPth).Length, record.GetProperty("file_bytes").GetInt64());
        Assert.Equal("cpu", record.GetProperty("backend").GetString());
        Assert.EndsWith($"{SamEngine.Backends.Cpu.Gemm.ActivePath} kernels", record.GetProperty("device").GetString());
    }
}
