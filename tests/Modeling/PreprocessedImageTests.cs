using SamEngine.Amg;
using SamEngine.Modeling;

namespace SamEngine.Tests.Modeling;

/// <summary>An image preprocessed beforehand (as a batch's reader thread does) encodes and segments as one preprocessed in place.</summary>
public sealed class PreprocessedImageTests
{
    private static readonly Lazy<SamModel> Tiny = new(() => TestFixtures.LoadModel("tiny"));

    private static byte[] Image(int h, int w) => Enumerable.Range(0, h * w * 3).Select(i => (byte)(i * 31 % 251)).ToArray();

    [Fact]
    public void SetImageWithThePreprocessedInputGivesTheSameEmbedding()
    {
        var rgb = Image(40, 60);
        using var inPlace = new SamPredictor(Tiny.Value);
        inPlace.SetImage(rgb, 40, 60);
        using var ahead = new SamPredictor(Tiny.Value);
        var input = new SamPredictor(Tiny.Value).Preprocess(rgb, 40, 60);
        Assert.Equal((40, 60), (input.Height, input.Width));
        ahead.SetImage(rgb, 40, 60, preprocessed: input);
        Assert.Equal(inPlace.Embedding!.ImageEmbeddings, ahead.Embedding!.ImageEmbeddings);
        Assert.Equal((inPlace.Embedding.InputHeight, inPlace.Embedding.InputWidth), (ahead.Embedding.InputHeight, ahead.Embedding.InputWidth));
    }

    [Fact]
    public void AnInputMadeFromAnotherImageSizeIsRefused()
    {
        using var predictor = new SamPredictor(Tiny.Value);
        var input = predictor.Preprocess(Image(40, 60), 40, 60);
        var e = Assert.Throws<ArgumentException>(() => predictor.SetImage(Image(30, 60), 30, 60, preprocessed: input));
        Assert.Contains("made from a 40 x 60 image", e.Message);
    }

    [Fact]
    public void GeneratorWithTheWholeImagePreprocessedGivesTheSameMasks()
    {
        var rgb = Image(50, 70);
        var options = new AutomaticMaskGeneratorOptions { PointsPerSide = 4, PredIouThresh = 0, StabilityScoreThresh = 0, CropNLayers = 1 };
        using var generator = new AutomaticMaskGenerator(Tiny.Value, options);
        var plain = generator.Generate(rgb, 50, 70);
        var ahead = generator.Generate(rgb, 50, 70, preprocessed: new SamPredictor(Tiny.Value).Preprocess(rgb, 50, 70));
        Assert.NotEmpty(plain);
        Assert.Equal(plain.Select(r => (r.Segmentation.Rle, r.PredictedIou, r.StabilityScore)), ahead.Select(r => (r.Segmentation.Rle, r.PredictedIou, r.StabilityScore)));
    }
}
