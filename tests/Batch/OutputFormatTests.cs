using System.Text.Json;
using SamEngine.Amg;
using SamEngine.Batch;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Tests.Batch;

public sealed class OutputFormatTests() : TempDirectoryTests("samengine-formats-")
{
    private static MaskRecord Record(byte[] mask, int h, int w, float iou) =>
        new(new MaskSegmentation(AmgOutputMode.CocoRle, RunLengthEncoding.FromMask(mask, h, w)), mask.Count(b => b != 0), [1, 0, 1, 1],
            iou, [(4.0, 0.5)], 0.25f, [0, 0, w, h]);

    private static readonly byte[] Mask = [0, 1, 0, 0, 1, 1]; // 2 x 3, row-major

    [Theory]
    [InlineData(4.0, "4.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(0.8999999761581421, "0.8999999761581421")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(1.2345678901234568e+16, "1.2345678901234568e+16")]
    [InlineData(1e22, "1e+22")]
    [InlineData(double.NaN, "nan")]
    public void FloatsAreWrittenAsPythonsStr(double value, string text) => Assert.Equal(text, PythonFloat.Format(value));

    [Fact]
    public void AmgFolderHasAPngPerMaskAndAmgPysMetadata()
    {
        AmgFolder.Write(TempDir, [Record(Mask, 2, 3, 0.9f), Record(Mask, 2, 3, 0.5f)]);
        var lines = File.ReadAllText(Path.Combine(TempDir, "metadata.csv")).Split('\n');
        Assert.Equal(AmgFolder.Header, lines[0]);
        Assert.Equal("0,3,1,0,1,1,4.0,0.5,0.8999999761581421,0.25,0,0,3,2", lines[1]);
        Assert.Equal("1,3,1,0,1,1,4.0,0.5,0.5,0.25,0,0,3,2", lines[2]);
        Assert.Equal(3, lines.Length); // no newline after the last row, as amg.py
        using var png = Image.Load<L8>(Path.Combine(TempDir, "1.png"));
        var pixels = new byte[6];
        png.CopyPixelDataTo(pixels);
        Assert.Equal(Mask.Select(b => (byte)(b * 255)), pixels);
    }

    [Fact]
    public void Sa1bFilesBecomeOneCocoDatasetNumberedAcrossImages()
    {
        string a = Path.Combine(TempDir, "a.json"), b = Path.Combine(TempDir, "b.json");
        using (var s = File.Create(a)) Sa1bJson.Write(s, new BatchImage("x/a.png", "/d/x/a.png", 2), 2, 3, [Record(Mask, 2, 3, 0.9f), Record(Mask, 2, 3, 0.5f)]);
        using (var s = File.Create(b)) Sa1bJson.Write(s, new BatchImage("b.png", "/d/b.png", 5), 2, 3, [Record(Mask, 2, 3, 0.7f)]);
        using var sa1b = JsonDocument.Parse(File.ReadAllText(a));
        Assert.Equal("""{"image_id":2,"width":3,"height":2,"file_name":"x/a.png"}""", sa1b.RootElement.GetProperty("image").GetRawText());
        var ann = sa1b.RootElement.GetProperty("annotations")[1];
        Assert.Equal(["id", "segmentation", "area", "bbox", "predicted_iou", "point_coords", "stability_score", "crop_box"], ann.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, ann.GetProperty("id").GetInt32());

        using var stream = new MemoryStream();
        CocoDataset.Write(stream, [a, b]);
        using var coco = JsonDocument.Parse(stream.ToArray());
        var images = coco.RootElement.GetProperty("images");
        Assert.Equal("""[{"id":2,"file_name":"x/a.png","width":3,"height":2},{"id":5,"file_name":"b.png","width":3,"height":2}]""", images.GetRawText());
        var anns = coco.RootElement.GetProperty("annotations").EnumerateArray().ToList();
        Assert.Equal([(1, 2), (2, 2), (3, 5)], anns.Select(x => (x.GetProperty("id").GetInt32(), x.GetProperty("image_id").GetInt32())));
        Assert.All(anns, x => Assert.Equal((1, 0), (x.GetProperty("category_id").GetInt32(), x.GetProperty("iscrowd").GetInt32())));
        var rle = CocoRle.Decode(2, 3, anns[2].GetProperty("segmentation").GetProperty("counts").GetString()!);
        Assert.Equal(Mask, rle.ToMask());
    }
}
