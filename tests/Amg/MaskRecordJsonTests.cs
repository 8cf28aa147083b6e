using System.Text.Json;
using SamEngine.Amg;

namespace SamEngine.Tests.Amg;

public class MaskRecordJsonTests
{
    private static MaskRecord Record(AmgOutputMode mode, float stability = 0.75f) => new(
        new MaskSegmentation(mode, new RunLengthEncoding(2, 3, [1, 4, 1])), 4, [0, 0, 2, 1], 0.5241278409957886f,
        [(56.25, 62.5)], stability, [0, 0, 3, 2]);

    private static JsonElement Write(params MaskRecord[] records)
    {
        var stream = new MemoryStream();
        MaskRecordJson.Write(stream, records);
        return JsonDocument.Parse(stream.ToArray()).RootElement;
    }

    [Fact]
    public void WritesTheOfficialKeys()
    {
        var r = Write(Record(AmgOutputMode.UncompressedRle))[0];
        Assert.Equal(["segmentation", "area", "bbox", "predicted_iou", "point_coords", "stability_score", "crop_box"],
            r.EnumerateObject().Select(p => p.Name));
        Assert.Equal([2, 3], r.GetProperty("segmentation").GetProperty("size").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([1, 4, 1], r.GetProperty("segmentation").GetProperty("counts").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(4, r.GetProperty("area").GetInt32());
        Assert.Equal([0, 0, 2, 1], r.GetProperty("bbox").EnumerateArray().Select(e => e.GetInt32()));
        // The float32 score as the double it equals, as Python's .item() prints it.
        Assert.Equal("0.5241278409957886", r.GetProperty("predicted_iou").GetRawText());
        Assert.Equal(56.25, r.GetProperty("point_coords")[0][0].GetDouble());
        Assert.Equal(0.75, r.GetProperty("stability_score").GetDouble());
        Assert.Equal([0, 0, 3, 2], r.GetProperty("crop_box").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void WritesCocoStringsAndBinaryMasks()
    {
        var coco = Write(Record(AmgOutputMode.CocoRle))[0].GetProperty("segmentation");
        Assert.Equal("141", coco.GetProperty("counts").GetString());
        var binary = Write(Record(AmgOutputMode.BinaryMask))[0].GetProperty("segmentation");
        Assert.Equal("[[0,1,1],[1,1,0]]", binary.GetRawText());
    }

    [Fact]
    public void NaNScoreIsNullAndNoRecordsIsAnEmptyArray()
    {
        Assert.Equal(JsonValueKind.Null, Write(Record(AmgOutputMode.CocoRle, float.NaN))[0].GetProperty("stability_score").ValueKind);
        Assert.Equal(0, Write().GetArrayLength());
    }
}
