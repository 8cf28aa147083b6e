using SamEngine.Amg;
using SamEngine.Modeling;

namespace SamEngine.Tests.Amg;

/// <summary>The generator on the tiny model: edge cases upstream does not reach, and invariants of its records.</summary>
public sealed class AutomaticMaskGeneratorTests : IDisposable
{
    // Keep everything the (random-weight) model predicts unless a test says otherwise.
    private static readonly AutomaticMaskGeneratorOptions KeepAll = new()
    {
        PointsPerSide = 4, PointsPerBatch = 8, PredIouThresh = 0, StabilityScoreThresh = 0,
        BoxNmsThresh = 1.01, CropNmsThresh = 1.01, OutputMode = AmgOutputMode.UncompressedRle,
    };

    private readonly SamModel _model = AmgFixtureTests.TinyModel();

    public void Dispose() => _model.Dispose();

    [Fact]
    public void NoSurvivingMaskInSeveralCropsGivesAnEmptyList()
    {
        // Upstream fails here (box_area of an empty crop_boxes tensor); predicted IoUs are never above 1.
        var (rgb, h, w) = AmgFixtureTests.TinyImage();
        var options = KeepAll with { CropNLayers = 1, PredIouThresh = 1.0 };
        Assert.Empty(new AutomaticMaskGenerator(_model, options).Generate(rgb, h, w));
    }

    [Fact]
    public void GenerateWhileAnotherGenerateRunsOnTheSameGeneratorIsRefused()
    {
        var (rgb, h, w) = AmgFixtureTests.TinyImage();
        using var generator = new AutomaticMaskGenerator(_model, KeepAll with { PointsPerSide = 1 });
        Exception? fromOtherThread = null;
        // While the first call runs, another thread starts a second one on the same generator.
        var records = generator.Generate(rgb, h, w, progress: _ =>
            fromOtherThread ??= Record.Exception(() => Task.Run(() => generator.Generate(rgb, h, w)).GetAwaiter().GetResult()) ?? new Exception("no error"));

        var e = Assert.IsType<InvalidOperationException>(fromOtherThread);
        Assert.Contains("one AutomaticMaskGenerator per thread", e.Message);
        Assert.Equal(records.Count, generator.Generate(rgb, h, w).Count); // the first call was not disturbed, and the guard is released
    }

    [Fact]
    public void GridOfOnePointGivesThreeMasksAtTheCentre()
    {
        var (rgb, h, w) = AmgFixtureTests.TinyImage();
        var records = new AutomaticMaskGenerator(_model, KeepAll with { PointsPerSide = 1 }).Generate(rgb, h, w);
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal([(w / 2.0, h / 2.0)], r.PointCoords));
        AssertValid(records, h, w);
    }

    [Fact]
    public void BatchSizeDoesNotChangeTheMasks()
    {
        var (rgb, h, w) = AmgFixtureTests.TinyImage();
        var one = new AutomaticMaskGenerator(_model, KeepAll with { PointsPerBatch = 1 }).Generate(rgb, h, w);
        var all = new AutomaticMaskGenerator(_model, KeepAll with { PointsPerBatch = 16 }).Generate(rgb, h, w);
        var odd = new AutomaticMaskGenerator(_model, KeepAll with { PointsPerBatch = 5 }).Generate(rgb, h, w);
        Assert.Equal(48, one.Count);
        foreach (var other in new[] { all, odd })
        {
            Assert.Equal(one.Count, other.Count);
            // NMS is off and scores differ, so both lists are in the same descending-IoU order.
            for (int i = 0; i < one.Count; i++)
            {
                Assert.Equal(one[i].PointCoords, other[i].PointCoords);
                Assert.Equal(one[i].PredictedIou, other[i].PredictedIou, 1e-5f);
                Assert.Equal(one[i].StabilityScore, other[i].StabilityScore, 1e-4f);
                Assert.Equal(one[i].Area, other[i].Area, tolerance: one[i].Area * 0.001);
            }
        }
    }

    [Fact]
    public void ImageSmallerThanTheCropLayersStillWorks()
    {
        // 12 x 17 pixels with two crop layers: crops of a few pixels, each upscaled to the model's input.
        var (rgb, h, w) = SmallImage(12, 17);
        var records = new AutomaticMaskGenerator(_model, KeepAll with { CropNLayers = 2, CropNmsThresh = 0.7 }).Generate(rgb, h, w);
        AssertValid(records, h, w);
    }

    [Fact]
    public void OnePixelWideImageWorks()
    {
        var (rgb, h, w) = SmallImage(40, 1);
        var records = new AutomaticMaskGenerator(_model, KeepAll with { CropNLayers = 1 }).Generate(rgb, h, w);
        Assert.NotEmpty(records);
        AssertValid(records, h, w);
        Assert.All(records, r => Assert.InRange(r.PointCoords[0].X, 0.0, 1.0));
    }

    [Fact]
    public void SmallRegionCleanupLeavesNoSmallHolesOrIslands()
    {
        const int minArea = 200;
        var (rgb, h, w) = AmgFixtureTests.TinyImage();
        var options = KeepAll with { PointsPerSide = 2, BoxNmsThresh = 0.7, CropNmsThresh = 0.7, MinMaskRegionArea = minArea };
        var records = new AutomaticMaskGenerator(_model, options).Generate(rgb, h, w);
        Assert.NotEmpty(records);
        AssertValid(records, h, w);
        foreach (var r in records)
        {
            var mask = r.Segmentation.Rle.ToMask();
            var (_, islands) = ConnectedComponents.Label(mask, h, w);
            Assert.True(islands.Length <= 2 || islands.Skip(1).All(a => a >= minArea), "a small island is left beside others");
            var (_, holes) = ConnectedComponents.Label(mask.Select(b => (byte)(1 - b)).ToArray(), h, w);
            Assert.True(holes.Skip(1).All(a => a >= minArea), "a small hole is left");
        }
    }

    [Fact]
    public void OutputModesHoldTheSameMask()
    {
        var (rgb, h, w) = AmgFixtureTests.TinyImage();
        var options = KeepAll with { PointsPerSide = 1 };
        var rle = new AutomaticMaskGenerator(_model, options).Generate(rgb, h, w);
        var coco = new AutomaticMaskGenerator(_model, options with { OutputMode = AmgOutputMode.CocoRle }).Generate(rgb, h, w);
        var binary = new AutomaticMaskGenerator(_model, options with { OutputMode = AmgOutputMode.BinaryMask }).Generate(rgb, h, w);
        for (int i = 0; i < rle.Count; i++)
        {
            Assert.Equal(rle[i].Segmentation.Counts, CocoRle.Decode(coco[i].Segmentation.CocoCounts!));
            Assert.Equal(rle[i].Segmentation.Rle.ToMask(), binary[i].Segmentation.Mask);
            Assert.Null(rle[i].Segmentation.Mask);
            Assert.Null(binary[i].Segmentation.Counts);
        }
    }

    [Fact]
    public void RejectsInvalidOptions()
    {
        Assert.Throws<ArgumentException>(() => new AutomaticMaskGenerator(_model, KeepAll with { PointsPerBatch = 0 }));
        Assert.Throws<ArgumentException>(() => new AutomaticMaskGenerator(_model, KeepAll with { PointGrids = [[(0.5, 0.5)]] }));
        Assert.Throws<ArgumentException>(() => new AutomaticMaskGenerator(_model, KeepAll with { PointsPerSide = null, PointGrids = [[(0.5, 0.5)]], CropNLayers = 1 }));
        Assert.Throws<ArgumentException>(() => new AutomaticMaskGenerator(_model, KeepAll with { CropOverlapRatio = double.NaN }));
    }

    [Fact]
    public void ExplicitPointGridIsUsed()
    {
        var (rgb, h, w) = AmgFixtureTests.TinyImage();
        var options = KeepAll with { PointsPerSide = null, PointGrids = [[(0.0, 0.0), (1.0, 1.0)]] };
        var records = new AutomaticMaskGenerator(_model, options).Generate(rgb, h, w);
        Assert.Equal(6, records.Count);
        Assert.Equal([(0.0, 0.0), ((double)w, (double)h)], records.Select(r => r.PointCoords[0]).Distinct().OrderBy(p => p.X));
    }

    /// <summary>Invariants of every record: sizes, area, box and crop inside the image, point inside its crop.</summary>
    internal static void AssertValid(IReadOnlyList<MaskRecord> records, int h, int w)
    {
        foreach (var r in records)
        {
            var rle = r.Segmentation.Rle;
            Assert.Equal((h, w), (rle.Height, rle.Width));
            Assert.Equal(rle.Area, r.Area);
            var mask = rle.ToMask();
            var box = MaskScoring.MaskBox(mask, h, w);
            Assert.Equal(box.ToXywh(), r.Bbox);
            int cx = r.CropBox[0], cy = r.CropBox[1], cw = r.CropBox[2], ch = r.CropBox[3];
            Assert.True(cx >= 0 && cy >= 0 && cw > 0 && ch > 0 && cx + cw <= w && cy + ch <= h, $"crop box {string.Join(",", r.CropBox)}");
            var (px, py) = r.PointCoords[0];
            Assert.True(px >= cx && px <= cx + cw && py >= cy && py <= cy + ch, $"point ({px}, {py}) outside its crop");
            // Nothing outside the crop.
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    if (mask[y * w + x] != 0) Assert.True(x >= cx && x < cx + cw && y >= cy && y < cy + ch);
        }
    }

    private static (byte[] Rgb, int H, int W) SmallImage(int h, int w)
    {
        var rgb = new byte[h * w * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int p = (y * w + x) * 3;
                (rgb[p], rgb[p + 1], rgb[p + 2]) = ((byte)(y * 20), (byte)(x * 15), (byte)((x + y) % 2 * 255));
            }
        return (rgb, h, w);
    }
}
