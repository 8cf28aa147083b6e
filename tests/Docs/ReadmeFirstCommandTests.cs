using System.Text.Json;
using SamEngine.Evaluation;
using SamEngine.Tests.Checkpoints;
using SamEngine.Tests.Cli;

namespace SamEngine.Tests.Docs;

/// <summary>The README's first command, run as written: it segments the clicked object of samples/shapes.png (measured, with a regression bar).</summary>
public sealed class ReadmeFirstCommandTests
{
    private const string Launcher = "dotnet run --project src/SamEngine.Cli -c Release -- ";

    /// <summary>The first line of the README that runs the CLI, without the launcher.</summary>
    private static string[] FirstCommand()
    {
        string line = File.ReadLines(TestFixtures.InRepository("README.md")).First(l => l.StartsWith(Launcher, StringComparison.Ordinal));
        return line[Launcher.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void First_command_clicks_an_object_of_the_sample_and_its_best_mask_is_that_object()
    {
        var args = FirstCommand();
        Assert.Equal("segment", args[0]);
        string Arg(string option) => args[Array.IndexOf(args, option) + 1];
        Assert.Equal("demo", Arg("--model"));
        Assert.Equal("samples/shapes.png", Arg("--image"));

        // Run from the repository root, as the README does, writing to a temporary folder instead of out/.
        string outDir = Path.Combine(TestFiles.TempDir(), "sample");
        args[Array.IndexOf(args, "--out") + 1] = outDir;
        args[Array.IndexOf(args, "--image") + 1] = TestFixtures.InRepository(Arg("--image"));
        var (code, stdout, stderr) = CliRunner.Run([.. args, "--json"]);
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr); // no notice: the demo model's masks mean something

        var record = JsonDocument.Parse(stdout).RootElement;
        var point = record.GetProperty("points")[0];
        var (x, y) = ((int)point[0].GetSingle(), (int)point[1].GetSingle());
        var scene = Assert.Single(EvalSet.Load(TestFixtures.InRepository(Path.Combine("samples", "shapes_masks", "manifest.json"))).Scenes);
        Assert.Equal(Path.GetFullPath(args[Array.IndexOf(args, "--image") + 1]), scene.ImagePath);
        // Every true object under the click (a window and the house around it are both right answers).
        var clicked = scene.Objects.Select(o => (Object: o, Mask: o.LoadMask(scene))).Where(o => o.Mask[y * scene.Width + x] == 1).ToList();
        Assert.True(clicked.Count > 0, $"the README's point {x},{y} is on no object of samples/shapes_masks");
        string best = record.GetProperty("masks")[record.GetProperty("best").GetInt32()].GetProperty("file").GetString()!;
        var mask = SamEngine.Imaging.ImageLoader.Load(Path.Combine(outDir, best)).Pixels.Where((_, i) => i % 3 == 0).Select(v => (byte)(v >= 128 ? 1 : 0)).ToArray();
        var (kind, iou) = clicked.Select(o => (o.Object.Kind, Iou: MaskIou.Of(mask, o.Mask))).MaxBy(o => o.Iou);
        // The shipped model's top-scored mask of this click (the ball) measured IoU 0.519 (threshold = measured
        // - 0.05); the 0.9 is not reached yet (README "The demo model").
        Assert.True(iou >= 0.47, $"the best mask of the README's click at {x},{y} matches at most the {kind}, with IoU {iou:F3} < 0.47");
    }
}
