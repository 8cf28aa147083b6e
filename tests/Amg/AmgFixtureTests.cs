using System.Text.Json;
using SamEngine.Amg;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Modeling;
using Xunit.Abstractions;

namespace SamEngine.Tests.Amg;

/// <summary>
/// Parity with the official generator's output on the tiny model (fixtures/tiny/amg*.json): the same
/// number of masks, each reference mask matched (as sets: equal scores leave the official order
/// arbitrary) by one of ours with mask IoU >= 0.99 and scores within 1e-3.
/// </summary>
public class AmgFixtureTests(ITestOutputHelper output)
{
    private const double MinMaskIou = 0.99, ScoreTolerance = 1e-3;

    private static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny");

    [Theory]
    [InlineData("amg.json")]
    [InlineData("amg_nonms.json")]
    public void MatchesOfficialGenerator(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, file)));
        var options = OptionsFrom(doc.RootElement.GetProperty("params"));
        var reference = doc.RootElement.GetProperty("masks").EnumerateArray().Select(ReferenceMask.Parse).ToArray();

        var (rgb, h, w) = TinyImage();
        using var model = TinyModel();
        var ours = new AutomaticMaskGenerator(model, options).Generate(rgb, h, w);

        output.WriteLine($"{file}: {ours.Count} masks, reference {reference.Length}");
        Assert.Equal(reference.Length, ours.Count);
        var used = new bool[ours.Count];
        double worstIou = 1, worstScore = 0;
        var oursMasks = ours.Select(r => r.Segmentation.Rle.ToMask()).ToArray();
        foreach (var (refMask, i) in reference.Select((r, i) => (r, i)))
        {
            var expected = refMask.Rle.ToMask();
            int best = -1;
            double bestIou = -1;
            for (int k = 0; k < ours.Count; k++)
            {
                if (used[k] || ours[k].PointCoords[0] != refMask.Point) continue;
                double iou = MaskIou(expected, oursMasks[k]);
                if (iou > bestIou || (iou == bestIou && Math.Abs(ours[k].PredictedIou - refMask.PredictedIou) < Math.Abs(ours[best].PredictedIou - refMask.PredictedIou)))
                    (best, bestIou) = (k, iou);
            }
            Assert.True(best >= 0, $"reference mask {i} (point {refMask.Point}) has no mask of ours from the same point");
            var m = ours[best];
            used[best] = true;
            Assert.True(bestIou >= MinMaskIou, $"reference mask {i}: best mask IoU {bestIou:F5} < {MinMaskIou}");
            Assert.True(Math.Abs(m.PredictedIou - refMask.PredictedIou) <= ScoreTolerance, $"reference mask {i}: predicted_iou {m.PredictedIou} vs {refMask.PredictedIou}");
            Assert.True(Math.Abs(m.StabilityScore - refMask.StabilityScore) <= ScoreTolerance, $"reference mask {i}: stability_score {m.StabilityScore} vs {refMask.StabilityScore}");
            Assert.Equal(refMask.CropBox, m.CropBox);
            worstIou = Math.Min(worstIou, bestIou);
            worstScore = Math.Max(worstScore, Math.Max(Math.Abs(m.PredictedIou - refMask.PredictedIou), Math.Abs(m.StabilityScore - refMask.StabilityScore)));
            Assert.Equal(refMask.Rle.Area, m.Area, tolerance: refMask.Rle.Area * 0.01);
        }
        output.WriteLine($"worst mask IoU {worstIou:F6}, worst score difference {worstScore:E2}");
    }

    internal static AutomaticMaskGeneratorOptions OptionsFrom(JsonElement p) => new()
    {
        PointsPerSide = p.GetProperty("points_per_side").GetInt32(),
        PointsPerBatch = p.GetProperty("points_per_batch").GetInt32(),
        PredIouThresh = p.GetProperty("pred_iou_thresh").GetDouble(),
        StabilityScoreThresh = p.GetProperty("stability_score_thresh").GetDouble(),
        StabilityScoreOffset = p.GetProperty("stability_score_offset").GetDouble(),
        BoxNmsThresh = p.GetProperty("box_nms_thresh").GetDouble(),
        CropNLayers = p.GetProperty("crop_n_layers").GetInt32(),
        CropNmsThresh = p.GetProperty("crop_nms_thresh").GetDouble(),
        CropOverlapRatio = p.GetProperty("crop_overlap_ratio").GetDouble(),
        CropNPointsDownscaleFactor = p.GetProperty("crop_n_points_downscale_factor").GetInt32(),
        MinMaskRegionArea = p.GetProperty("min_mask_region_area").GetInt32(),
        OutputMode = p.GetProperty("output_mode").GetString() switch
        {
            "binary_mask" => AmgOutputMode.BinaryMask,
            "uncompressed_rle" => AmgOutputMode.UncompressedRle,
            "coco_rle" => AmgOutputMode.CocoRle,
            var m => throw new FormatException($"unknown output_mode {m}"),
        },
    };

    /// <summary>The fixture's image tensor: RGB bytes, height, width.</summary>
    internal static (byte[] Rgb, int H, int W) TinyImage()
    {
        using var reference = SafeTensorsFile.Open(Path.Combine(Dir, "reference.safetensors"));
        var shape = reference.Info("image").Shape;
        return (reference.ReadUInt8("image"), shape[0], shape[1]);
    }

    /// <summary>The tiny model with the architecture of its cases.json.</summary>
    internal static SamModel TinyModel() =>
        SamModel.Load(Path.Combine(Dir, "model.safetensors"), SamArchitecture.FromJson(File.ReadAllText(Path.Combine(Dir, "cases.json"))));

    private static double MaskIou(byte[] a, byte[] b)
    {
        int inter = 0, union = 0;
        for (int i = 0; i < a.Length; i++)
        {
            inter += a[i] & b[i];
            union += a[i] | b[i];
        }
        return union == 0 ? 1 : (double)inter / union;
    }

    private sealed record ReferenceMask(RunLengthEncoding Rle, (double X, double Y) Point, float PredictedIou, float StabilityScore, int[] CropBox)
    {
        public static ReferenceMask Parse(JsonElement m)
        {
            var seg = m.GetProperty("segmentation");
            var size = seg.GetProperty("size").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var rle = new RunLengthEncoding(size[0], size[1], seg.GetProperty("counts").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            var point = m.GetProperty("point_coords")[0];
            return new ReferenceMask(rle, (point[0].GetDouble(), point[1].GetDouble()),
                m.GetProperty("predicted_iou").GetSingle(), m.GetProperty("stability_score").GetSingle(),
                m.GetProperty("crop_box").EnumerateArray().Select(e => (int)e.GetDouble()).ToArray());
        }
    }
}
