using SamEngine.Modeling;

namespace SamEngine.Tests.Modeling;

/// <summary>
/// The IoU gate of <see cref="MaskDecoder.Passes"/> (used by the mask generator): the IoU predictions are
/// those of the ungated decoder, and the prompts that pass get exactly the ungated masks.
/// </summary>
public sealed class MaskDecoderGateTests
{
    private static readonly Lazy<SamModel> Tiny = new(() => TestFixtures.LoadModel("tiny"));

    [Fact]
    public void Gated_decoding_matches_ungated_for_the_prompts_that_pass()
    {
        var predictor = new SamPredictor(Tiny.Value);
        int h = 40, w = 56;
        var rgb = new byte[h * w * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)((i * 37) ^ (i >> 5));
        predictor.SetImage(rgb, h, w);
        // More prompts than one pass holds, so the gate works across passes.
        var prompts = Enumerable.Range(0, MaskDecoder.PromptsPerPass + 5)
            .Select(i => new SamPrompt { Points = [((i * 13) % w, (i * 7) % h, 1)] }).ToArray();

        var (_, m, reference, referenceIou) = predictor.PredictLowRes(prompts, multimask: true);
        int plane = reference.Length / (prompts.Length * m);
        var best = Enumerable.Range(0, prompts.Length).Select(p => referenceIou.AsSpan(p * m, m).ToArray().Max()).Order().ToArray();
        float gate = best[best.Length / 2]; // about half the prompts pass
        var passes = Enumerable.Range(0, prompts.Length).Select(p => referenceIou.AsSpan(p * m, m).ToArray().Any(v => v > gate)).ToArray();
        Assert.Contains(true, passes);
        Assert.Contains(false, passes);

        const float Untouched = -12345f;
        var lowRes = Enumerable.Repeat(Untouched, reference.Length).ToArray();
        var iou = new float[referenceIou.Length];
        predictor.PredictLowRes(prompts, multimask: true, lowRes, iou, gate);

        Assert.Equal(referenceIou, iou);
        for (int p = 0; p < prompts.Length; p++)
        {
            var got = lowRes.AsSpan(p * m * plane, m * plane);
            if (passes[p]) Assert.True(got.SequenceEqual(reference.AsSpan(p * m * plane, m * plane)), $"prompt {p}: gated masks differ");
            else Assert.True(got.IndexOfAnyExcept(Untouched) < 0, $"prompt {p}: masks were computed although no IoU passed the gate");
        }
    }
}
