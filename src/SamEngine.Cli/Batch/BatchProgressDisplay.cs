using System.Globalization;
using System.Text.Json;
using SamEngine.Batch;

namespace SamEngine.Cli.Batch;

/// <summary>
/// A batch's progress on stderr: on a terminal one line kept up to date (images done, images/hour, ETA,
/// skipped and failed so far); otherwise (a log file, a scheduler's output) one JSON object per image:
/// <c>{"image", "status", "seconds", "finished", "to_do", "images_per_hour", "eta_seconds", "error"}</c>.
/// </summary>
public sealed class BatchProgressDisplay(TextWriter stderr)
{
    private readonly TerminalProgress? _terminal = TerminalProgress.For(stderr);
    private int _skipped, _failed;

    /// <summary>Shows one finished image (called on the batch's writer thread).</summary>
    public void Report(BatchProgress p)
    {
        if (p.Entry.Status == ImageStatus.Skipped) _skipped++;
        if (p.Entry.Status == ImageStatus.Failed) _failed++;
        var (perHour, eta) = Rate(p);
        if (_terminal is not null)
        {
            _terminal.ShowLine(TerminalLine(p, _skipped, _failed));
            return;
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, BatchJson.Options))
        {
            json.WriteStartObject();
            json.WriteString("image", p.Entry.Image);
            json.WriteString("status", ManifestEntry.StatusName(p.Entry.Status));
            json.WriteNumber("seconds", Math.Round(p.Entry.Seconds, 3));
            json.WriteNumber("finished", p.Finished);
            json.WriteNumber("to_do", p.ToDo);
            json.WriteNumber("images_per_hour", Math.Round(perHour, 1));
            json.WriteNumber("eta_seconds", Math.Round(eta, 1));
            if (p.Entry.Error is null) json.WriteNull("error"); else json.WriteString("error", p.Entry.Error);
            json.WriteEndObject();
        }
        lock (stderr) stderr.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>The terminal's line after <paramref name="p"/>: "12/100 images  340 images/hour  ETA 0:15:32  skipped 1  failed 0".</summary>
    public static string TerminalLine(BatchProgress p, int skipped, int failed)
    {
        var (perHour, eta) = Rate(p);
        return string.Create(CultureInfo.InvariantCulture,
            $"{p.Finished}/{p.ToDo} images  {perHour:F0} images/hour  ETA {TimeSpan.FromSeconds(Math.Round(eta)):g}  skipped {skipped}  failed {failed}");
    }

    /// <summary>Images per hour so far, and the seconds the rest will take at that rate.</summary>
    private static (double PerHour, double EtaSeconds) Rate(BatchProgress p)
    {
        double perHour = p.Finished / Math.Max(p.Elapsed.TotalHours, 1e-9);
        return (perHour, (p.ToDo - p.Finished) / perHour * 3600);
    }

    /// <summary>Clears the terminal line.</summary>
    public void Done() => _terminal?.Done();
}
