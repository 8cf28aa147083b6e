using System.Text.Json;
using SamEngine.Batch;
using SamEngine.Cli.Batch;

namespace SamEngine.Tests.Cli.Batch;

public class BatchProgressDisplayTests
{
    private static BatchProgress Progress(int finished, int toDo, double seconds, ImageStatus status = ImageStatus.Done, string? error = null) =>
        new(new ManifestEntry("a/b.jpg", status, status == ImageStatus.Done ? "a/b.json" : null, 3, 1.5, error), finished, toDo, TimeSpan.FromSeconds(seconds));

    [Fact]
    public void TerminalLineShowsImagesPerHourAndTheEta() =>
        // 3 images in 30 s: 360 images/hour, 7 left: 70 s.
        Assert.Equal("3/10 images  360 images/hour  ETA 0:01:10  skipped 1  failed 0", BatchProgressDisplay.TerminalLine(Progress(3, 10, 30), 1, 0));

    [Fact]
    public void ElsewhereOneJsonLinePerImage()
    {
        var stderr = new StringWriter();
        var display = new BatchProgressDisplay(stderr);
        display.Report(Progress(1, 4, 10));
        display.Report(Progress(2, 4, 20, ImageStatus.Skipped, "image 'x' is corrupt"));
        display.Done();
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var second = JsonDocument.Parse(lines[1]);
        var r = second.RootElement;
        Assert.Equal(("a/b.jpg", "skipped", 2, 4, 360.0, 20.0, "image 'x' is corrupt"),
            (r.GetProperty("image").GetString(), r.GetProperty("status").GetString(), r.GetProperty("finished").GetInt32(), r.GetProperty("to_do").GetInt32(),
             r.GetProperty("images_per_hour").GetDouble(), r.GetProperty("eta_seconds").GetDouble(), r.GetProperty("error").GetString()));
    }
}
