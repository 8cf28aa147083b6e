using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Modeling;
using SamEngine.Parity;

namespace SamEngine.Tests.Modeling;

/// <summary>
/// The predictor's resources and threading rule: the tensors of an image it no longer holds, and every
/// intermediate of a prediction, are disposed rather than left to the GC; each embedding has its own
/// decoder image side; one instance refuses concurrent calls; several instances share a model safely.
/// </summary>
public sealed class SamPredictorTests
{
    private static readonly Lazy<SamModel> Tiny = new(() => TestFixtures.LoadModel("tiny"));

    private static (byte[] Rgb, int H, int W) Image(int seed, int h = 24, int w = 36)
    {
        var rgb = new byte[h * w * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)((i * (31 + seed)) ^ (i >> (3 + seed % 3)));
        return (rgb, h, w);
    }

    private static float[] Embedding(SamModel model, int seed)
    {
        var a = model.Architecture;
        var rng = new Random(seed);
        return Enumerable.Range(0, a.PromptEmbedDim * a.GridSize * a.GridSize).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
    }

    private static readonly SamPrompt Point = new() { Points = [(7, 9, 1)] };

    private static SamPrompt[] Points(int count, int h, int w) =>
        Enumerable.Range(0, count).Select(i => new SamPrompt { Points = [((i * 13) % w, (i * 7) % h, 1)] }).ToArray();

    [Fact]
    public void Replacing_the_image_disposes_the_old_embeddings_tensors()
    {
        using var be = new TensorTrackingBackend(new CpuBackend());
        using var model = TestFixtures.LoadModel("tiny", be);
        using var predictor = new SamPredictor(model);
        var (rgb, h, w) = Image(1);

        predictor.SetImage(rgb, h, w);
        predictor.Predict(Point, multimask: true); // prepares the decoder's image side of this embedding
        var first = predictor.Embedding!;
        var side = first.DecoderImageSide!;
        Tensor[] held = [first.Tokens, side.Keys, side.TokenToImageK!, side.TokenToImageV!, side.ImageToTokenQ!];
        Assert.All(held, t => Assert.True(be.IsLive(t)));

        predictor.SetImage(rgb, h, w);
        Assert.All(held, t => Assert.False(be.IsLive(t), $"{t} of the replaced embedding is still undisposed"));

        var second = predictor.Embedding!;
        predictor.SetEmbedding(Embedding(model, 2), h, w);
        Assert.False(be.IsLive(second.Tokens), "SetEmbedding left the replaced embedding's tokens undisposed");
        Assert.Equal(second.ImageEmbeddings.Length, predictor.Embedding!.ImageEmbeddings.Length); // still readable
    }

    [Fact]
    public void Predictions_leave_no_tensor_undisposed()
    {
        using var be = new TensorTrackingBackend(new CpuBackend());
        using var model = TestFixtures.LoadModel("tiny", be);
        var predictor = new SamPredictor(model);
        int h = 24, w = 36;
        predictor.SetEmbedding(Embedding(model, 1), h, w);

        predictor.Predict(Point, multimask: true);
        predictor.Predict(new SamPrompt { Box = [2, 3, 20, 15] }, multimask: false);
        var many = Points(MaskDecoder.PromptsPerPass + 5, h, w); // more than one pass
        var (_, m, lowRes, iou) = predictor.PredictLowRes(many, multimask: true);
        float gate = iou.Order().ElementAt(iou.Length / 2);
        predictor.PredictLowRes(many, multimask: true, lowRes, iou, gate); // some prompts gated out
        predictor.SetEmbedding(Embedding(model, 2), h, w);
        predictor.PredictBatch(many, multimask: false);

        predictor.Dispose();
        Assert.Equal(0, be.Live);
    }

    [Fact]
    public void Decoding_with_mask_inputs_leaves_no_tensor_undisposed()
    {
        // The per-prompt image side (mask inputs) straight through the decoder, with a dense embedding made
        // here, so that only the decoder's own tensors are counted.
        using var be = new TensorTrackingBackend(new CpuBackend());
        using var model = TestFixtures.LoadModel("tiny", be);
        using var predictor = new SamPredictor(model);
        var a = model.Architecture;
        int d = a.PromptEmbedDim, hw = a.GridSize * a.GridSize, b = MaskDecoder.PromptsPerPass + 3;
        predictor.SetEmbedding(Embedding(model, 1), 24, 36);
        var pe = predictor.DensePe;
        var rng = new Random(3);
        using var sparse = be.FromHost(Enumerable.Range(0, b * 2 * d).Select(_ => (float)rng.NextDouble()).ToArray(), b, 2, d);
        using var dense = be.FromHost(Enumerable.Range(0, b * hw * d).Select(_ => (float)rng.NextDouble()).ToArray(), b, hw, d);
        int before = be.Live;

        foreach (var pass in model.MaskDecoder.Passes(be, predictor.Embedding!, pe, sparse, dense, model.PromptEncoder.NoMaskEmbed, multimask: true, iouGate: null))
            pass.Dispose();

        Assert.Equal(before, be.Live);
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("sam2.1_tiny")]
    public void A_disposed_predictions_arrays_serve_the_next_one_with_the_same_results(string fixture)
    {
        using var model = TestFixtures.LoadModel(fixture);
        using var predictor = new SamPredictor(model);
        var (rgb, h, w) = Image(5);
        predictor.SetImage(rgb, h, w);
        var other = new SamPrompt { Points = [(20, 4, 1), (3, 15, 0)] };
        var want = predictor.Predict(other, multimask: true); // never disposed: its arrays stay its own
        var (wantMasks, wantLowRes) = (want.Masks.ToArray(), want.LowResLogits.ToArray());

        var first = predictor.Predict(Point, multimask: true);
        var (masks, lowRes) = (first.Masks, first.LowResLogits);
        first.Dispose();
        first.Dispose(); // a second dispose hands nothing back twice
        Assert.Throws<ObjectDisposedException>(() => first.MaskLogits);

        using var second = predictor.Predict(other, multimask: true);
        Assert.Same(masks, second.Masks);
        Assert.Same(lowRes, second.LowResLogits);
        Assert.Equal(wantMasks, second.Masks);
        Assert.Equal(wantLowRes, second.LowResLogits);
        Assert.Equal(wantMasks, want.Masks); // the undisposed prediction was not written over
        using var third = predictor.Predict(other, multimask: true);
        Assert.NotSame(second.Masks, third.Masks); // second is still live: its arrays are not handed out
    }

    [Fact]
    public void Shared_and_per_prompt_image_sides_decode_alike()
    {
        // Without a mask input the decoder reads the image side prepared once per image (projections
        // cached); given the no-mask embedding as every prompt's dense input it takes the per-prompt side
        // (projections inside the fused ops). Both are one block forward and must agree.
        var model = Tiny.Value;
        var be = model.Backend;
        using var predictor = new SamPredictor(model);
        var (rgb, h, w) = Image(4);
        predictor.SetImage(rgb, h, w);
        var prompts = Points(MaskDecoder.PromptsPerPass + 2, h, w);
        var (b, m, shared, sharedIou) = predictor.PredictLowRes(prompts, multimask: true);

        var a = model.Architecture;
        int d = a.PromptEmbedDim, hw = a.GridSize * a.GridSize;
        var noMask = model.PromptEncoder.NoMaskEmbed.ToFloat();
        var denseHost = new float[b * hw * d];
        for (int i = 0; i < b * hw; i++) noMask.CopyTo(denseHost, i * d);
        using var dense = be.FromHost(denseHost, b, hw, d);
        using var sparse = be.FromHost(predictor.LastSparse!, b, predictor.LastSparse!.Length / (b * d), d);
        var perPrompt = new float[shared.Length];
        var perPromptIou = new float[sharedIou.Length];
        foreach (var pass in model.MaskDecoder.Passes(be, predictor.Embedding!, predictor.DensePe, sparse, dense, model.PromptEncoder.NoMaskEmbed, multimask: true, iouGate: null))
            using (pass)
            {
                be.ToHost(pass.Iou, perPromptIou.AsSpan(pass.Start * m, pass.Iou.Length));
                be.ToHost(pass.LowRes!, perPrompt.AsSpan(pass.Start * m * a.LowResSize * a.LowResSize, pass.LowRes!.Length));
            }

        var logits = TensorCompare.Compare("case.low_res_logits", perPrompt, shared, false, Precision.Fp32);
        Assert.True(logits.Passed, $"low-res logits: rel L2 {logits.RelL2:G3}, {logits.Detail}");
        var ious = TensorCompare.Compare("case.iou_predictions", perPromptIou, sharedIou, false, Precision.Fp32);
        Assert.True(ious.Passed, $"IoU: max abs {ious.MaxAbs:G3}, {ious.Detail}");
    }

    [Fact]
    public void Each_embedding_keeps_its_own_decoder_image_side()
    {
        // Interleaved predictors over one model, and one predictor moved to another image, answer exactly
        // as fresh predictors do: no image side is shared or left over from another image.
        var model = Tiny.Value;
        var images = new[] { Image(1), Image(2) };
        float[] Fresh(int image, SamPrompt prompt)
        {
            using var p = new SamPredictor(model);
            p.SetImage(images[image].Rgb, images[image].H, images[image].W);
            return p.Predict(prompt, multimask: true).LowResLogits;
        }
        var prompts = new[] { Point, new SamPrompt { Points = [(20, 5, 1)] } };

        using var first = new SamPredictor(model);
        using var second = new SamPredictor(model);
        first.SetImage(images[0].Rgb, images[0].H, images[0].W);
        second.SetImage(images[1].Rgb, images[1].H, images[1].W);
        foreach (var prompt in prompts)
        {
            Assert.Equal(Fresh(0, prompt), first.Predict(prompt, multimask: true).LowResLogits);
            Assert.Equal(Fresh(1, prompt), second.Predict(prompt, multimask: true).LowResLogits);
        }
        Assert.NotEqual(first.Predict(Point, true).LowResLogits, second.Predict(Point, true).LowResLogits);

        first.SetImage(images[1].Rgb, images[1].H, images[1].W);
        Assert.Equal(Fresh(1, prompts[1]), first.Predict(prompts[1], multimask: true).LowResLogits);
    }

    [Fact]
    public void A_call_while_another_runs_on_the_same_predictor_is_refused()
    {
        using var predictor = new SamPredictor(Tiny.Value);
        var (rgb, h, w) = Image(1);
        predictor.SetImage(rgb, h, w);
        Exception? fromOtherThread = null;
        // While SetImage runs the encoder, another thread predicts with the same predictor.
        predictor.SetImage(rgb, h, w, progress: (_, _) =>
        {
            if (fromOtherThread is not null) return;
            var other = new Thread(() => fromOtherThread = Record.Exception(() => predictor.Predict(Point, true)) ?? new Exception("no error"));
            other.Start();
            other.Join();
        });

        var e = Assert.IsType<InvalidOperationException>(fromOtherThread);
        Assert.Contains("not thread-safe", e.Message);
        Assert.Contains("one SamPredictor per thread", e.Message);
        Assert.Equal(3, predictor.Predict(Point, multimask: true).MaskCount); // the guard is released after the call
        Assert.Throws<PromptException>(() => predictor.Predict(new SamPrompt(), true));
        Assert.Equal(3, predictor.Predict(Point, multimask: true).MaskCount); // and after a failed call
    }

    [Fact]
    public async Task Predictors_over_one_model_run_concurrently_on_the_cpu_backend()
    {
        var model = Tiny.Value;
        const int Threads = 4;
        var prompts = Points(MaskDecoder.PromptsPerPass + 3, 24, 36);
        float[] Run(int i)
        {
            using var p = new SamPredictor(model);
            var (rgb, h, w) = Image(i);
            p.SetImage(rgb, h, w);
            var batch = p.PredictBatch(prompts, multimask: true);
            return [.. batch.LowResLogits, .. p.Predict(Point, multimask: false).LowResLogits];
        }
        var sequential = Enumerable.Range(0, Threads).Select(Run).ToArray();

        using var start = new Barrier(Threads);
        var concurrent = Enumerable.Range(0, Threads)
            .Select(i => Task.Factory.StartNew(() => { start.SignalAndWait(); return Run(i); }, TaskCreationOptions.LongRunning))
            .ToArray();
        var results = await Task.WhenAll(concurrent);

        for (int i = 0; i < Threads; i++) Assert.Equal(sequential[i], results[i]);
    }

    [Fact]
    public void A_disposed_predictor_refuses_calls_and_disposes_once()
    {
        var predictor = new SamPredictor(Tiny.Value);
        var (rgb, h, w) = Image(1);
        predictor.SetImage(rgb, h, w);
        predictor.Dispose();
        predictor.Dispose();
        Assert.Throws<ObjectDisposedException>(() => predictor.Predict(Point, true));
        Assert.Throws<ObjectDisposedException>(() => predictor.SetImage(rgb, h, w));
    }
}
