using System.Text;
using System.Text.Json;

namespace SamEngine.Batch;

/// <summary>What became of one image: done (its output written), skipped (the image could not be used: unreadable, corrupt, over the pixel limit), or failed (the engine failed on it).</summary>
public enum ImageStatus
{
    /// <summary>The output is written.</summary>
    Done,

    /// <summary>The image could not be read; <see cref="ManifestEntry.Error"/> says why.</summary>
    Skipped,

    /// <summary>The model failed on the image; <see cref="ManifestEntry.Error"/> says why.</summary>
    Failed,
}

/// <summary>
/// One line of <c>manifest.jsonl</c> (engine-contracts.md "Batch"):
/// <c>{"image": "a/b.jpg", "status": "done|skipped|failed", "output": "...", "masks": n, "seconds": s, "error": "..."}</c>,
/// every key always present, <c>null</c> where it does not apply (no output or mask count unless done; no mask count for <c>embed</c>).
/// </summary>
/// <param name="Image">The image's key (<see cref="BatchImage.Key"/>).</param>
/// <param name="Status">Done, skipped or failed.</param>
/// <param name="Output">The output's path relative to the output folder; null unless done.</param>
/// <param name="Masks">Masks in the output (<c>amg</c>); null otherwise.</param>
/// <param name="Seconds">Wall time spent on the image: decoding, the model and writing.</param>
/// <param name="Error">Why it was skipped or failed; null when done.</param>
public sealed record ManifestEntry(string Image, ImageStatus Status, string? Output, int? Masks, double Seconds, string? Error)
{
    /// <summary>The status as the manifest writes it.</summary>
    public static string StatusName(ImageStatus s) => s.ToString().ToLowerInvariant();

    /// <summary>The entry as one JSON line, without the newline.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, BatchJson.Options))
        {
            json.WriteStartObject();
            json.WriteString("image", Image);
            json.WriteString("status", StatusName(Status));
            if (Output is null) json.WriteNull("output"); else json.WriteString("output", Output);
            if (Masks is { } n) json.WriteNumber("masks", n); else json.WriteNull("masks");
            json.WriteNumber("seconds", Math.Round(Seconds, 3));
            if (Error is null) json.WriteNull("error"); else json.WriteString("error", Error);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads a line written by <see cref="ToJson"/>; throws <see cref="FormatException"/> when it is not one.</summary>
    public static ManifestEntry Parse(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            string? Text(string name) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            string image = Text("image") ?? throw new FormatException("no \"image\"");
            var status = Text("status") switch
            {
                "done" => ImageStatus.Done,
                "skipped" => ImageStatus.Skipped,
                "failed" => ImageStatus.Failed,
                var other => throw new FormatException($"status '{other}'"),
            };
            int? masks = r.TryGetProperty("masks", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetInt32() : null;
            double seconds = r.TryGetProperty("seconds", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetDouble() : 0;
            return new ManifestEntry(image, status, Text("output"), masks, seconds, Text("error"));
        }
        catch (JsonException e) { throw new FormatException(e.Message, e); }
    }
}
