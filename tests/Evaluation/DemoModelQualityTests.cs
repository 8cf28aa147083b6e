using System.Globalization;
using SamEngine.Amg;
using SamEngine.Evaluation;
using SamEngine.Modeling;
using Xunit.Abstractions;

namespace SamEngine.Tests.Evaluation;

/// <summary>
/// The shipped demo model (<c>--model demo</c>) segments for real, measured by the engine itself on the
/// held-out synthetic scenes of tests/fixtures/demo_eval (made by tools/demo-model/ with a seed of their own)
/// and on samples/shapes.png, whose true masks lie in samples/shapes_masks.
/// </summary>
public sealed class DemoModelQualityTests(ITestOutputHelper output)
{
    // Regression bars, each set below what the shipped model (tools/demo-model/README.md, "The shipped model") measured
    // here on the held-out set (cpu backend, 2026-12-08): they catch a worse model or a broken engine. The
    // issue's targets (box >= 0.90, oracle >= 0.85) are not reached yet; README "The demo model" says so.
    // Measured 0.6523; threshold = measured - 0.02, rounded down.
    private const double PointMiouThreshold = 0.63;
    // Measured 0.7778; threshold = measured - 0.02, rounded down.
    private const double OracleMiouThreshold = 0.75;
    // Measured 0.8163; threshold = measured - 0.02, rounded down.
    private const double BoxMiouThreshold = 0.79;
    // AMG recall at IoU 0.5 with DemoAmgOptions. Measured 0.5552; threshold = measured - 0.0175 (5 of the 317
    // objects; repeated runs give the same figure), rounded down.
    private const double AmgRecallThreshold = 0.53;

    /// <summary>
    /// The generator as README "The demo model" tells its users to run it on this model: the official
    /// defaults but for the two mask filters, which are set for ViT-H's sharp, well-calibrated outputs. This
    /// model's IoU head predicts the true IoU (rarely that high) and its logits are soft at the
    /// boundaries, so the official pred_iou 0.88 and stability 0.95 keep few masks (53, recall 0.126); a
    /// predicted IoU over 0.5 (the match criterion) and a stability over 0.8 keep what it finds. A 16 x 16
    /// grid instead of 32 x 32, a quarter of the decoder work, keeps the test short.
    /// </summary>
    internal static readonly AutomaticMaskGeneratorOptions DemoAmgOptions = new() { PointsPerSide = 16, PredIouThresh = 0.5, StabilityScoreThresh = 0.8 };

    /// <summary>
    /// A regression bar for the clicks on samples/shapes.png, on the best of the three candidates the CLI
    /// and the page show (a click inside the house is as much a click on its walls): their mean, measured
    /// 0.9217 with the shipped model, threshold = measured - 0.03, rounded down. The bar, IoU >= 0.9 on every
    /// object, is not reached yet for the house (0.80) and the window (0.85: a square answered with rounded
    /// corners; 0.97 with the 10-pixel model, before the 8-pixel one gained box +0.030 and oracle +0.039 on the
    /// held-out set, its 64 windows included); ball 0.98, ground 0.97, sun 0.98, walls 0.93, roof 0.93; the
    /// per-object IoUs are printed.
    /// </summary>
    private const double SampleClickMiou = 0.89;

    [Fact]
    public void Demo_model_meets_the_quality_bars_on_the_held_out_scenes()
    {
        var set = EvalSet.Load(EvalSetTests.DemoEvalManifest);
        using var model = SamModel.Load(ModelSource.Demo);
        var report = SegmentationQuality.Measure(model, set, DemoAmgOptions);
        Print(report, $"{set.Scenes.Count} scenes ({set.Recipe}, seed {set.Seed})");
        Assert.Multiple(
            () => Assert.True(report.PointMiou >= PointMiouThreshold, $"single-point mIoU {report.PointMiou:F4} < {PointMiouThreshold}"),
            () => Assert.True(report.OracleMiou >= OracleMiouThreshold, $"oracle mIoU {report.OracleMiou:F4} < {OracleMiouThreshold}"),
            () => Assert.True(report.BoxMiou >= BoxMiouThreshold, $"box mIoU {report.BoxMiou:F4} < {BoxMiouThreshold}"),
            () => Assert.True(report.AmgRecall >= AmgRecallThreshold, $"AMG recall {report.AmgRecall:F4} < {AmgRecallThreshold}"));
    }

    [Fact]
    public void A_click_on_each_object_of_the_sample_gives_its_mask()
    {
        var set = EvalSet.Load(TestFixtures.InRepository(Path.Combine("samples", "shapes_masks", "manifest.json")));
        using var model = SamModel.Load(ModelSource.Demo);
        var report = SegmentationQuality.Measure(model, set, amgOptions: null);
        Print(report, "samples/shapes.png");
        foreach (var o in report.Objects)
            output.WriteLine($"{o.Kind,-8} area {o.Area,6}: top-scored IoU {o.PointIou:F3}, best of three {o.OracleIou:F3}");
        Assert.True(report.OracleMiou >= SampleClickMiou, $"mean best-of-three IoU of the sample's clicks {report.OracleMiou:F4} < {SampleClickMiou}");
    }

    /// <summary>The four figures, then per kind of object, on the test's output.</summary>
    private void Print(QualityReport report, string what)
    {
        var ci = CultureInfo.InvariantCulture;
        var amg = double.IsNaN(report.AmgRecall) ? "" : string.Format(ci, ", AMG recall@{0} {1:F4} ({2} masks; points_per_side {3}, pred_iou_thresh {4}, stability_score_thresh {5})",
            QualityReport.AmgMatchIou, report.AmgRecall, report.AmgMasks, DemoAmgOptions.PointsPerSide, DemoAmgOptions.PredIouThresh, DemoAmgOptions.StabilityScoreThresh);
        output.WriteLine(string.Format(ci, "{0}: {1} objects; single-point mIoU {2:F4}, oracle mIoU {3:F4}, box mIoU {4:F4}{5}",
            what, report.Objects.Count, report.PointMiou, report.OracleMiou, report.BoxMiou, amg));
        output.WriteLine("kind            n   point  oracle  box    amg-recall");
        foreach (var kind in report.Objects.GroupBy(o => o.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var part = new QualityReport([.. kind], 0);
            output.WriteLine(string.Format(ci, "{0,-14} {1,3}   {2:F3}  {3:F3}   {4:F3}  {5:F3}", kind.Key, part.Objects.Count, part.PointMiou, part.OracleMiou, part.BoxMiou, part.AmgRecall));
        }
    }
}
