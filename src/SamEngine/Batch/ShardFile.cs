using System.Text.Json;

namespace SamEngine.Batch;

/// <summary>
/// <c>shard.json</c> in a batch's output folder: the format, the shard (<c>"shard": I, "shards": N</c>) and
/// the keys of its images, so that <see cref="BatchMerge"/> can tell which images a shard never finished
/// and which shards were not given to it.
/// </summary>
public static class ShardFile
{
    /// <summary>The file's name in the output folder.</summary>
    public const string FileName = "shard.json";

    /// <summary>What a shard.json holds.</summary>
    /// <param name="Format">The outputs' format.</param>
    /// <param name="Shard">The shard.</param>
    /// <param name="Images">The keys of its images, sorted.</param>
    public sealed record Contents(BatchFormat Format, Shard Shard, IReadOnlyList<string> Images);

    /// <summary>Writes (atomically) the shard.json of a run.</summary>
    public static void Write(string root, BatchFormat format, Shard shard, IReadOnlyList<BatchImage> images) =>
        AtomicOutput.WriteFile(Path.Combine(root, FileName), temp =>
        {
            using var stream = File.Create(temp);
            using var json = new Utf8JsonWriter(stream, BatchJson.Indented);
            json.WriteStartObject();
            json.WriteString("format", format.Name());
            json.WriteNumber("shard", shard.Index);
            json.WriteNumber("shards", shard.Count);
            json.WriteStartArray("images");
            foreach (var image in images) json.WriteStringValue(image.Key);
            json.WriteEndArray();
            json.WriteEndObject();
        });

    /// <summary>Reads the shard.json of an output folder; throws <see cref="ArgumentException"/> naming the folder when it has none or it is malformed.</summary>
    public static Contents Read(string root)
    {
        string path = Path.Combine(root, FileName);
        if (!File.Exists(path)) throw new ArgumentException($"'{root}' is not a batch output folder (no {FileName})");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var r = doc.RootElement;
            string name = r.GetProperty("format").GetString() ?? "";
            if (!BatchFormats.TryParse(name, Enum.GetValues<BatchFormat>(), out var format)) throw new ArgumentException($"'{path}': unknown format '{name}'");
            var shard = new Shard(r.GetProperty("shard").GetInt32(), r.GetProperty("shards").GetInt32());
            if (shard.Count < 1 || shard.Index < 0 || shard.Index >= shard.Count) throw new ArgumentException($"'{path}': shard {shard} is out of range");
            return new Contents(format, shard, r.GetProperty("images").EnumerateArray().Select(e => e.GetString() ?? "").ToArray());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ArgumentException($"'{path}' is not a samengine shard file: {e.Message}", e);
        }
    }
}
