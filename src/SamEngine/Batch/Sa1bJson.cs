using System.Text.Json;
using SamEngine.Amg;

namespace SamEngine.Batch;

/// <summary>
/// An image's masks as SA-1B stores them, one JSON file per image:
/// <c>{"image": {"image_id", "width", "height", "file_name"}, "annotations": [{"id", "segmentation", "area", "bbox",
/// "predicted_iou", "point_coords", "stability_score", "crop_box"}, ...]}</c>, the segmentation a COCO RLE.
/// <c>image_id</c> is the image's place in the whole sorted list (<see cref="BatchImage.Id"/>), so shards and a
/// single run agree; an annotation's <c>id</c> is its index in the image (as <c>amg.py</c>'s metadata.csv
/// numbers masks); <see cref="CocoDataset"/> numbers them across the dataset.
/// </summary>
public static class Sa1bJson
{
    /// <summary>Writes the file of <paramref name="image"/> (<paramref name="height"/> x <paramref name="width"/>) with its records.</summary>
    public static void Write(Stream stream, BatchImage image, int height, int width, IReadOnlyList<MaskRecord> records)
    {
        using var json = new Utf8JsonWriter(stream, BatchJson.Options);
        json.WriteStartObject();
        json.WriteStartObject("image");
        json.WriteNumber("image_id", image.Id);
        json.WriteNumber("width", width);
        json.WriteNumber("height", height);
        json.WriteString("file_name", image.Key);
        json.WriteEndObject();
        json.WriteStartArray("annotations");
        for (int i = 0; i < records.Count; i++)
        {
            int id = i;
            MaskRecordJson.WriteRecord(json, records[i], j => j.WriteNumber("id", id));
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
