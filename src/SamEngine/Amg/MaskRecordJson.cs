using System.Text.Json;

namespace SamEngine.Amg;

/// <summary>
/// Writes generated masks as the JSON array of <c>engine-contracts.md</c>: one object per mask with the
/// official record keys. Float32 scores are written as the double they equal (as Python's <c>.item()</c>
/// gives them); a NaN stability score (both thresholded masks empty) is written as null.
/// </summary>
public static class MaskRecordJson
{
    /// <summary>Writes the records as a compact JSON array.</summary>
    public static void Write(Stream stream, IReadOnlyList<MaskRecord> records)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        json.WriteStartArray();
        foreach (var r in records) WriteRecord(json, r);
        json.WriteEndArray();
    }

    /// <summary>
    /// Writes one record as a JSON object; <paramref name="leading"/> writes properties before the
    /// record's own (a dataset's annotation id).
    /// </summary>
    internal static void WriteRecord(Utf8JsonWriter json, MaskRecord r, Action<Utf8JsonWriter>? leading = null)
    {
        json.WriteStartObject();
        leading?.Invoke(json);
        json.WritePropertyName("segmentation");
        WriteSegmentation(json, r.Segmentation);
        json.WriteNumber("area", r.Area);
        WriteInts(json, "bbox", r.Bbox);
        WriteFloat(json, "predicted_iou", r.PredictedIou);
        json.WriteStartArray("point_coords");
        foreach (var (x, y) in r.PointCoords)
        {
            json.WriteStartArray();
            json.WriteNumberValue(x);
            json.WriteNumberValue(y);
            json.WriteEndArray();
        }
        json.WriteEndArray();
        WriteFloat(json, "stability_score", r.StabilityScore);
        WriteInts(json, "crop_box", r.CropBox);
        json.WriteEndObject();
    }

    private static void WriteSegmentation(Utf8JsonWriter json, MaskSegmentation s)
    {
        if (s.Mask is { } mask)
        {
            // binary_mask: rows of 0/1.
            json.WriteStartArray();
            for (int y = 0; y < s.Height; y++)
            {
                json.WriteStartArray();
                for (int x = 0; x < s.Width; x++) json.WriteNumberValue(mask[y * s.Width + x]);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            return;
        }
        json.WriteStartObject();
        WriteInts(json, "size", [s.Height, s.Width]);
        if (s.CocoCounts is { } text) json.WriteString("counts", text);
        else WriteInts(json, "counts", s.Counts!);
        json.WriteEndObject();
    }

    private static void WriteInts(Utf8JsonWriter json, string name, IReadOnlyList<int> values)
    {
        json.WriteStartArray(name);
        foreach (int v in values) json.WriteNumberValue(v);
        json.WriteEndArray();
    }

    private static void WriteFloat(Utf8JsonWriter json, string name, float value)
    {
        if (float.IsFinite(value)) json.WriteNumber(name, (double)value);
        else json.WriteNull(name);
    }
}
