using SamEngine.Amg;
using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Tests.Amg;

/// <summary>A cached embedding in place of the encoder on the whole image gives the very same records.</summary>
public class AutomaticMaskGeneratorEmbeddingTests
{
    [Theory]
    [InlineData("tiny", 0)]
    [InlineData("tiny", 1)]
    [InlineData("sam2.1_tiny", 0)]
    public void SameRecordsWithTheImagesEmbedding(string fixture, int cropLayers)
    {
        using var model = TestFixtures.LoadModel(fixture);
        var image = ImageLoader.Load(Path.Combine(TestFixtures.Local("tiny"), "image.png"));
        using var encoder = new SamPredictor(model);
        encoder.SetImage(image.Pixels, image.Height, image.Width);
        var options = new AutomaticMaskGeneratorOptions
        {
            PointsPerSide = 4, PredIouThresh = 0, StabilityScoreThresh = 0, CropNLayers = cropLayers, OutputMode = AmgOutputMode.CocoRle,
        };
        using var plain = new AutomaticMaskGenerator(model, options);
        using var cached = new AutomaticMaskGenerator(model, options);
        var expected = Json(plain.Generate(image.Pixels, image.Height, image.Width));
        Assert.NotEqual("[]", expected);
        Assert.Equal(expected, Json(cached.Generate(image.Pixels, image.Height, image.Width, encoder.Embedding)));
    }

    [Fact]
    public void EmbeddingOfAnotherSizeIsRefused()
    {
        using var model = TestFixtures.LoadModel("tiny");
        var image = ImageLoader.Load(Path.Combine(TestFixtures.Local("tiny"), "image.png"));
        using var encoder = new SamPredictor(model);
        encoder.SetImage(new byte[10 * 20 * 3], 10, 20);
        using var generator = new AutomaticMaskGenerator(model, new AutomaticMaskGeneratorOptions { PointsPerSide = 2 });
        var e = Assert.Throws<ArgumentException>(() => generator.Generate(image.Pixels, image.Height, image.Width, encoder.Embedding));
        Assert.Contains("10 x 20", e.Message);
    }

    private static string Json(IReadOnlyList<MaskRecord> records)
    {
        var stream = new MemoryStream();
        MaskRecordJson.Write(stream, records);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
