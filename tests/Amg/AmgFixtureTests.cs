using System.Text.Json;
using SamEngine.Amg;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Modeling;
using Xunit.Abstractions;

namespace SamEngine.Tests.Amg;

/// <summary>
/// Parity with the official generators' output on the tiny models (fixtures/tiny/amg*.json from
/// <c>SamAutomaticMaskGenerator</c>, fixtures/sam2.1_tiny/amg*.json from <c>SAM2AutomaticMaskGenerator</c>,
/// m2m included): the same number of masks, each reference mask matched (as sets: equal scores leave the
/// official order arbitrary) by one of ours with mask IoU >= 0.99 and scores within 1e-3.
/// </summary>
public class AmgFixtureTests(ITestOutputHelper output)
{
    private const double MinMaskIou = 0.99, ScoreTolerance = 1e-3;

    private static string Dir(string config = "tiny") => Path.Combine(AppContext.BaseDirectory, "fixtures", config);

    [Theory]
    [InlineData("tiny", "amg.json")]
    [InlineData("tiny", "amg_nonms.json")]
    [InlineData("sam2.1_tiny", "amg.json")]
    [InlineData("sam2.1_tiny", "amg_m2m.json")]
    [InlineData("sam2.1_tiny", "amg_nonms.json")]
    public void MatchesOfficialGenerator(string config, string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(config), file)));
        var options = OptionsFrom(doc.RootElement.GetProperty("params"));
        var reference = doc.RootElement.GetProperty("masks").EnumerateArray().Select(ReferenceMask.Parse).ToArray();

        var (rgb, h, w) = TinyImage(config);
        using var model = TinyModel(config);
        var ours = new AutomaticMaskGenerator(model, options).Generate(rgb, h, w);

        output.WriteLine($"{config}/{file}: {ours.Count} masks, reference {reference.Length}");
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

    /// <summary>
    /// The generator options of a fixture's <c>params</c>; SAM 2's <c>use_m2m</c> and <c>multimask_output</c>
    /// when it has them. Its <c>mask_threshold</c>, which SamEngine does not vary, must be 0.
    /// </summary>
    internal static AutomaticMaskGeneratorOptions OptionsFrom(JsonElement p)
    {
        if (p.TryGetProperty("mask_threshold", out var maskThreshold))
            Assert.Equal(0.0, maskThreshold.GetDouble());
        return OptionsWithout(p) with
        {
            UseM2m = p.TryGetProperty("use_m2m", out var m2m) && m2m.GetBoolean(),
            MultimaskOutput = !p.TryGetProperty("multimask_output", out var multimask) || multimask.GetBoolean(),
        };
    }

    private static AutomaticMaskGeneratorOptions OptionsWithout(JsonElement p) => new()
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
    internal static (byte[] Rgb, int H, int W) TinyImage(string config = "tiny")
    {
        using var reference = SafeTensorsFile.Open(Path.Combine(Dir(config), "reference.safetensors"));
        var shape = reference.Info("image").Shape;
        return (reference.ReadUInt8("image"), shape[0], shape[1]);
    }

    /// <summary>The tiny model with the architecture of its cases.json.</summary>
    internal static SamModel TinyModel(string config = "tiny") =>
        SamModel.Load(Path.Combine(Dir(config), "model.safetensors"), SamArchitecture.FromJson(File.ReadAllText(Path.Combine(Dir(config), "cases.json"))));

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
            // SAM 1's fixtures hold run lengths, SAM 2.1's the COCO string (output_mode coco_rle).
            var counts = seg.GetProperty("counts");
            var rle = counts.ValueKind == JsonValueKind.String ? CocoRle.Decode(size[0], size[1], counts.GetString()!)
                : new RunLengthEncoding(size[0], size[1], counts.EnumerateArray().Select(e => e.GetInt32()).ToArray());
            var point = m.GetProperty("point_coords")[0];
            return new ReferenceMask(rle, (point[0].GetDouble(), point[1].GetDouble()),
                m.GetProperty("predicted_iou").GetSingle(), m.GetProperty("stability_score").GetSingle(),
                m.GetProperty("crop_box").EnumerateArray().Select(e => (int)e.GetDouble()).ToArray());
        }
    }
}
