using SamEngine.Amg;
using SamEngine.Config;
using SamEngine.Modeling;

namespace SamEngine.Tests.Amg;

/// <summary>
/// What the generator does for SAM 2.1 alone (<c>SAM2AutomaticMaskGenerator</c>), on the tiny SAM 2.1 model:
/// the family's defaults, one mask per point, the m2m refinement and the clean-up of small regions, each
/// checked against the predictor's public API doing the same steps by hand.
/// </summary>
public sealed class Sam2AutomaticMaskGeneratorTests : IDisposable
{
    private const string Config = "sam2.1_tiny";

    // Keep everything the (random-weight) model predicts unless a test says otherwise.
    private static readonly AutomaticMaskGeneratorOptions KeepAll = new()
    {
        PointsPerSide = 1, PointsPerBatch = 8, PredIouThresh = 0, StabilityScoreThresh = 0,
        BoxNmsThresh = 1.01, CropNmsThresh = 1.01, OutputMode = AmgOutputMode.UncompressedRle,
    };

    private readonly Lazy<SamModel> _model = new(() => AmgFixtureTests.TinyModel(Config));

    private SamModel Model => _model.Value;

    public void Dispose()
    {
        if (_model.IsValueCreated) _model.Value.Dispose();
    }

    [Fact]
    public void PredIouThreshNotGivenTakesTheDefaultOfTheModelsFamily()
    {
        Assert.NotEqual(AutomaticMaskGeneratorOptions.Sam1PredIouThresh, AutomaticMaskGeneratorOptions.Sam2PredIouThresh);
        Assert.Null(new AutomaticMaskGeneratorOptions().PredIouThresh);
        Assert.Equal(AutomaticMaskGeneratorOptions.Sam2PredIouThresh, new AutomaticMaskGenerator(Model).Options.PredIouThresh);
        using var sam1 = AmgFixtureTests.TinyModel();
        Assert.Equal(AutomaticMaskGeneratorOptions.Sam1PredIouThresh, new AutomaticMaskGenerator(sam1).Options.PredIouThresh);
    }

    [Fact]
    public void PredIouThreshGivenIsKeptForEitherFamily()
    {
        var options = new AutomaticMaskGeneratorOptions { PredIouThresh = 0.5 };
        Assert.Equal(0.5, options.ForFamily(ModelFamily.Sam).PredIouThresh);
        Assert.Equal(0.5, options.ForFamily(ModelFamily.Sam2).PredIouThresh);
        Assert.Equal(0.0, (options with { PredIouThresh = 0 }).ForFamily(ModelFamily.Sam2).PredIouThresh);
    }

    [Fact]
    public void Sam1RefusesTheOptionsOnlySam2Has()
    {
        using var sam1 = AmgFixtureTests.TinyModel();
        var m2m = Assert.Throws<ArgumentException>(() => new AutomaticMaskGenerator(sam1, new AutomaticMaskGeneratorOptions { UseM2m = true }));
        Assert.Contains("use_m2m needs a SAM 2.1 model", m2m.Message);
        var single = Assert.Throws<ArgumentException>(() => new AutomaticMaskGenerator(sam1, new AutomaticMaskGeneratorOptions { MultimaskOutput = false }));
        Assert.Contains("multimask_output false needs a SAM 2.1 model", single.Message);
        // SAM 2.1 takes both.
        _ = new AutomaticMaskGenerator(Model, new AutomaticMaskGeneratorOptions { UseM2m = true, MultimaskOutput = false });
    }

    [Fact]
    public void WithoutMultimaskEachPointGivesThePredictorsSingleMask()
    {
        var (rgb, h, w) = AmgFixtureTests.TinyImage(Config);
        var records = new AutomaticMaskGenerator(Model, KeepAll with { MultimaskOutput = false }).Generate(rgb, h, w);

        using var predictor = new SamPredictor(Model);
        predictor.SetImage(rgb, h, w);
        var single = predictor.Predict(Centre(h, w), multimask: false);
        var record = Assert.Single(records);
        Assert.Equal([(w / 2.0, h / 2.0)], record.PointCoords);
        Assert.Equal(single.IouPredictions[0], record.PredictedIou, 1e-6f);
        Assert.Equal(single.Masks, record.Segmentation.Rle.ToMask());
    }

    [Fact]
    public void M2mPredictsEachMaskAgainFromItsOwnLowResLogits()
    {
        var (rgb, h, w) = AmgFixtureTests.TinyImage(Config);
        var plain = new AutomaticMaskGenerator(Model, KeepAll).Generate(rgb, h, w);
        var refined = new AutomaticMaskGenerator(Model, KeepAll with { UseM2m = true }).Generate(rgb, h, w);

        // By hand: three masks at the centre, then each again from the centre with its clamped
        // low-res logits as the mask input, one mask asked for.
        using var predictor = new SamPredictor(Model);
        predictor.SetImage(rgb, h, w);
        var first = predictor.Predict(Centre(h, w), multimask: true);
        int plane = first.LowResSize * first.LowResSize;
        var expected = Enumerable.Range(0, first.MaskCount).Select(k => predictor.Predict(Centre(h, w) with
        {
            MaskInput = first.LowResLogits.AsSpan(k * plane, plane).ToArray(),
        }, multimask: false)).ToArray();

        Assert.Equal(first.MaskCount, refined.Count);
        foreach (var e in expected)
        {
            // NMS is off: every refined mask is there; find it by its IoU.
            var match = refined.MinBy(r => Math.Abs(r.PredictedIou - e.IouPredictions[0]))!;
            Assert.Equal(e.IouPredictions[0], match.PredictedIou, 1e-6f);
            Assert.Equal(e.Masks, match.Segmentation.Rle.ToMask());
        }
        // The refinement changed something: without it the generator gives the first pass's masks.
        Assert.NotEqual(plain.Select(r => r.PredictedIou).Order(), refined.Select(r => r.PredictedIou).Order());
        Assert.Equal(first.IouPredictions.Order(), plain.Select(r => r.PredictedIou).Order());
    }

    [Fact]
    public void M2mBatchSizeDoesNotChangeTheMasks()
    {
        // 16 points, 48 masks refined in passes of 1, 5 and 16 prompts.
        var (rgb, h, w) = AmgFixtureTests.TinyImage(Config);
        var options = KeepAll with { PointsPerSide = 4, UseM2m = true };
        var one = new AutomaticMaskGenerator(Model, options with { PointsPerBatch = 1 }).Generate(rgb, h, w);
        Assert.Equal(48, one.Count);
        foreach (int batch in new[] { 5, 16 })
        {
            var other = new AutomaticMaskGenerator(Model, options with { PointsPerBatch = batch }).Generate(rgb, h, w);
            Assert.Equal(one.Count, other.Count);
            for (int i = 0; i < one.Count; i++)
            {
                Assert.Equal(one[i].PointCoords, other[i].PointCoords);
                Assert.Equal(one[i].PredictedIou, other[i].PredictedIou, 1e-5f);
                Assert.Equal(one[i].StabilityScore, other[i].StabilityScore, 1e-4f);
                Assert.Equal(one[i].Area, other[i].Area, tolerance: one[i].Area * 0.001);
            }
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(200)]
    public void MinMaskRegionAreaIsThePredictorsHoleAndSprinkleRemoval(int area)
    {
        // SAM2AutomaticMaskGenerator hands min_mask_region_area to its predictor as max_hole_area and
        // max_sprinkle_area (low-res pixels, before upsampling) and never runs SAM 1's final clean-up.
        var (rgb, h, w) = AmgFixtureTests.TinyImage(Config);
        var records = new AutomaticMaskGenerator(Model, KeepAll with { MinMaskRegionArea = area }).Generate(rgb, h, w);

        using var predictor = new SamPredictor(Model, maxHoleArea: area, maxSprinkleArea: area);
        predictor.SetImage(rgb, h, w);
        var expected = predictor.Predict(Centre(h, w), multimask: true);
        Assert.Equal(expected.MaskCount, records.Count);
        int size = h * w;
        var ours = records.Select(r => r.Segmentation.Rle.ToMask()).ToArray();
        for (int k = 0; k < expected.MaskCount; k++)
        {
            var mask = expected.Masks.AsSpan(k * size, size).ToArray();
            Assert.Contains(ours, m => m.AsSpan().SequenceEqual(mask));
        }
        // The clean-up did something here (else this test would not tell the two clean-ups apart).
        var untouched = new AutomaticMaskGenerator(Model, KeepAll).Generate(rgb, h, w).Select(r => r.Segmentation.Rle.ToMask()).ToArray();
        Assert.Contains(ours, m => !untouched.Any(u => u.AsSpan().SequenceEqual(m)));
    }

    private static SamPrompt Centre(int h, int w) => new() { Points = [((float)(w / 2.0), (float)(h / 2.0), 1)] };
}
