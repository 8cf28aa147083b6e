using SamEngine.Modeling;

namespace SamEngine.Tests.Modeling;

/// <summary>Bad prompts and images through the library API: one clear error each.</summary>
public sealed class PredictorInputTests
{
    private static readonly Lazy<SamModel> Tiny = new(() => TestFixtures.LoadModel("tiny"));

    private static SamPredictor PredictorWithImage(int h = 20, int w = 30)
    {
        var p = new SamPredictor(Tiny.Value);
        var rgb = new byte[h * w * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 7);
        p.SetImage(rgb, h, w);
        return p;
    }

    private static string Error(Action a) => Assert.ThrowsAny<ArgumentException>(a).Message;

    [Fact]
    public void Predict_before_SetImage_is_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new SamPredictor(Tiny.Value).Predict(new SamPrompt { Points = [(1, 1, 1)] }, false));
        Assert.Contains("SetImage", e.Message);
    }

    [Fact]
    public void Image_buffer_of_the_wrong_size_is_refused() =>
        Assert.Contains("is not 20 x 30 x 3", Error(() => new SamPredictor(Tiny.Value).SetImage(new byte[100], 20, 30)));

    [Fact]
    public void Image_size_whose_byte_count_wraps_is_refused() =>
        // 65536 x 65536 x 3 wraps to 0 in int: an empty buffer must not pass as that image.
        Assert.Contains("is not 65536 x 65536 x 3", Error(() => new SamPredictor(Tiny.Value).Preprocess([], 65536, 65536)));

    [Fact]
    public void Original_size_over_the_pixel_limit_is_refused_before_predicting()
    {
        // The repro: planes x 40000 x 40000 wrapped in int and the mask writes ran off the heap.
        var a = Tiny.Value.Architecture;
        var p = new SamPredictor(Tiny.Value);
        var e = Assert.Throws<ArgumentException>(() =>
        {
            p.SetEmbedding(new float[a.PromptEmbedDim * a.GridSize * a.GridSize], 40000, 40000);
            p.Predict(new SamPrompt { Points = [(10, 10, 1)] }, multimask: true);
        });
        Assert.Contains("40000 x 40000 = 1600000000 pixels is over the limit of 100000000", e.Message);
        Assert.Contains("must be positive", Error(() => p.SetEmbedding(new float[a.PromptEmbedDim * a.GridSize * a.GridSize], 0, 30)));
    }

    [Fact]
    public void Masks_of_a_batch_too_large_for_one_array_are_refused()
    {
        // 10000 x 10000 is within the image limit, but 15 prompts x 3 masks of it (4.5e9 bytes) wrapped
        // to 205 M in int and the writes ran past that array.
        var a = Tiny.Value.Architecture;
        var p = new SamPredictor(Tiny.Value);
        p.SetEmbedding(new float[a.PromptEmbedDim * a.GridSize * a.GridSize], 10000, 10000);
        var prompts = Enumerable.Range(0, 15).Select(i => new SamPrompt { Points = [(i * 100, 50, 1)] }).ToList();
        Assert.Contains("45 x 10000 x 10000 = 4500000000 values are more than one array holds", Error(() => p.PredictBatch(prompts, multimask: true)));
    }

    [Theory]
    [InlineData(-1f, 5f)]
    [InlineData(31f, 5f)]
    [InlineData(5f, 20.5f)]
    [InlineData(float.NaN, 5f)]
    public void Point_outside_the_image_is_refused(float x, float y) =>
        Assert.Contains("outside the 30 x 20 image", Error(() => PredictorWithImage().Predict(new SamPrompt { Points = [(x, y, 1)] }, false)));

    [Fact]
    public void Label_other_than_0_or_1_is_refused() =>
        Assert.Contains("label 2", Error(() => PredictorWithImage().Predict(new SamPrompt { Points = [(3, 3, 2)] }, false)));

    [Fact]
    public void Empty_prompt_is_refused() =>
        Assert.Contains("empty prompt", Error(() => PredictorWithImage().Predict(new SamPrompt(), true)));

    [Fact]
    public void Box_with_x1_before_x0_is_refused() =>
        Assert.Contains("x1 < x0", Error(() => PredictorWithImage().Predict(new SamPrompt { Box = [20, 2, 10, 8] }, false)));

    [Fact]
    public void Box_outside_the_image_is_refused() =>
        Assert.Contains("outside", Error(() => PredictorWithImage().Predict(new SamPrompt { Box = [0, 0, 40, 8] }, false)));

    [Fact]
    public void Mask_input_of_the_wrong_size_is_refused() =>
        Assert.Contains("64 x 64", Error(() => PredictorWithImage().Predict(new SamPrompt { Points = [(3, 3, 1)], MaskInput = new float[32 * 32] }, false)));

    [Fact]
    public void Mixed_batch_is_refused() =>
        Assert.Contains("same number of points", Error(() => PredictorWithImage().PredictBatch(
            [new SamPrompt { Points = [(3, 3, 1)] }, new SamPrompt { Points = [(3, 3, 1), (4, 4, 0)] }], false)));

    [Fact]
    public void Embedding_of_the_wrong_size_is_refused() =>
        Assert.Contains("does not fit this model", Error(() => new SamPredictor(Tiny.Value).SetEmbedding(new float[10], 20, 30)));

    [Fact]
    public void Valid_prompt_gives_masks_of_the_image_size()
    {
        var r = PredictorWithImage().Predict(new SamPrompt { Points = [(0, 0, 1), (30, 20, 0)], Box = [0, 0, 30, 20] }, multimask: true);
        Assert.Equal((1, 3, 20, 30), (r.Batch, r.MaskCount, r.Height, r.Width));
        Assert.Equal(3 * 20 * 30, r.Masks.Length);
        Assert.All(r.Masks, m => Assert.True(m <= 1));
        Assert.Equal(3, r.IouPredictions.Length);
    }

    [Fact]
    public void SetEmbedding_reproduces_SetImage_predictions()
    {
        var a = PredictorWithImage();
        var b = new SamPredictor(Tiny.Value);
        b.SetEmbedding(a.Embedding!.ImageEmbeddings, 20, 30);
        var prompt = new SamPrompt { Points = [(7, 9, 1)] };
        Assert.Equal(a.Predict(prompt, true).LowResLogits, b.Predict(prompt, true).LowResLogits);
    }
}
