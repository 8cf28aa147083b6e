using SamEngine.Backends;
using SamEngine.IO;
using SamEngine.Modeling;
using SamEngine.Weights;

namespace SamEngine.Parity;

/// <summary>An engine output: float32 values or 0/1 bytes, with the reference's shape.</summary>
public sealed record EngineTensor(int[] Shape, float[]? Floats, byte[]? Bytes);

/// <summary>
/// Runs a fixture end to end as the official <c>SamPredictor</c> (SAM 1) or <c>SAM2ImagePredictor</c>
/// (SAM 2.1) did (see <c>engine-contracts.md</c>, "Parity") and compares every tensor the reference holds.
/// With <paramref name="fromReferenceEmbedding"/> the encoder is not run: the decoder starts from the
/// reference's <c>image_embeddings</c> (and SAM 2.1's <c>high_res_feats_0/1</c>), which checks it alone.
/// </summary>
public sealed class ParityRunner(string fixtureDir, IBackend? backend = null, Precision precision = Precision.Fp32, bool fromReferenceEmbedding = false)
{
    /// <summary>The engine's outputs, under the reference names.</summary>
    public SortedDictionary<string, EngineTensor> Outputs { get; } = new(StringComparer.Ordinal);

    /// <summary>Runs the fixture, reporting progress lines to <paramref name="log"/>.</summary>
    public IReadOnlyList<Comparison> Run(Action<string>? log = null)
    {
        var spec = FixtureSpec.Load(Path.Combine(fixtureDir, "cases.json"));
        string refPath = Path.Combine(fixtureDir, "reference.safetensors");
        using var reference = SafeTensorsFile.Open(refPath);
        using var model = LoadModel(spec);
        log?.Invoke($"model: {model.Description} on {model.Backend.Name} ({model.Backend.Device})");

        var imageInfo = reference.Info("image");
        int h = imageInfo.Shape[0], w = imageInfo.Shape[1];
        var image = reference.ReadUInt8("image");
        using var predictor = new SamPredictor(model);
        var arch = model.Architecture;
        int g = arch.GridSize, d = arch.PromptEmbedDim, s = arch.ImgSize;

        var (resized, ih, iw, inputNhwc) = predictor.Preprocess(image, h, w);
        if (resized is not null) Outputs["input_resized"] = new EngineTensor([ih, iw, 3], null, resized);
        Outputs["input_tensor"] = new EngineTensor([1, 3, s, s], SamPredictor.NhwcToNchw(inputNhwc, s * s, 3), null);

        var be = model.Backend;
        if (fromReferenceEmbedding)
        {
            bool sam2 = arch.Family == Config.ModelFamily.Sam2;
            predictor.SetEmbedding(reference.ReadFloat32("image_embeddings"), h, w,
                sam2 ? reference.ReadFloat32("high_res_feats_0") : null, sam2 ? reference.ReadFloat32("high_res_feats_1") : null);
            log?.Invoke("decoder from the reference embedding (encoder not run)");
        }
        else
            predictor.SetImage(image, h, w, tap: (name, t) =>
            {
                var host = be.ToHost(t);
                Outputs[name] = StoredChannelsFirst(name) && t.Shape is [1, var th, var tw, var tc]
                    ? new EngineTensor([1, tc, th, tw], SamPredictor.NhwcToNchw(host, th * tw, tc), null)
                    : new EngineTensor((int[])t.Shape.Clone(), host, null);
            }, progress: (i, n) => log?.Invoke($"encoder block {i}/{n}"));
        var emb = predictor.Embedding!;
        Outputs["image_embeddings"] = new EngineTensor([1, d, g, g], emb.ImageEmbeddings, null);
        if (emb.HighResFeats0 is { } f0 && emb.HighResFeats1 is { } f1)
        {
            Outputs["high_res_feats_0"] = new EngineTensor([1, d / 8, 4 * g, 4 * g], f0, null);
            Outputs["high_res_feats_1"] = new EngineTensor([1, d / 4, 2 * g, 2 * g], f1, null);
        }
        Outputs["dense_pe"] = new EngineTensor([1, d, g, g], SamPredictor.NhwcToNchw(be.ToHost(predictor.DensePe), g * g, d), null);

        foreach (var c in spec.Cases) RunCase(c, predictor, reference, arch, h, w);
        return Compare(reference);
    }

    /// <summary>
    /// The intermediates the official code hands on as NCHW feature maps (SAM 1's neck, Hiera's stage
    /// outputs and the FPN levels); the engine's taps are NHWC, the trunk's blocks NHWC in both.
    /// </summary>
    private static bool StoredChannelsFirst(string name) =>
        name == "neck_conv1" || name.StartsWith("trunk.stage_", StringComparison.Ordinal) || name.StartsWith("neck.", StringComparison.Ordinal);

    private SamModel LoadModel(FixtureSpec spec)
    {
        // Without a backend the model makes (and disposes) a CPU one; the caller's stays the caller's.
        // "shipped": "demo" names the model shipped with SamEngine: SamModel.Load resolves it (a missing
        // file is an error there, never a silent fall-back to generated weights).
        if (spec.ShippedWeights == ModelSource.Demo) return SamModel.Load(ModelSource.Demo, spec.Architecture, backend);
        string shipped = Path.Combine(fixtureDir, spec.ShippedWeights ?? "model.safetensors");
        if (File.Exists(shipped)) return SamModel.Load(shipped, spec.Architecture, backend);
        return SamModel.Create(spec.Architecture, new GeneratedWeightSource(spec.Seed), backend, $"generated (seed {spec.Seed})");
    }

    private void RunCase(FixtureCase c, SamPredictor predictor, SafeTensorsFile reference, Config.SamArchitecture arch, int h, int w)
    {
        int lr = arch.LowResSize, g = arch.GridSize, d = arch.PromptEmbedDim;
        var prompts = c.Prompts;
        if (c.MaskFrom is not null)
        {
            float[] mask = reference.Contains($"{c.Name}.mask_input")
                ? reference.ReadFloat32($"{c.Name}.mask_input")
                : BestLowRes(c.MaskFrom, lr);
            Outputs[$"{c.Name}.mask_input"] = new EngineTensor([1, lr, lr], mask, null);
            prompts = [prompts[0] with { MaskInput = mask }];
        }
        var p = predictor.PredictBatch(prompts, c.Multimask);
        int m = p.MaskCount, b = p.Batch;
        int tokens = predictor.LastSparse!.Length / (b * d);
        if (c.Batched)
        {
            Outputs[$"{c.Name}.sparse"] = new EngineTensor([b, tokens, d], predictor.LastSparse, null);
            Outputs[$"{c.Name}.masks"] = new EngineTensor([b, m, h, w], null, p.Masks);
            Outputs[$"{c.Name}.iou_predictions"] = new EngineTensor([b, m], p.IouPredictions, null);
            Outputs[$"{c.Name}.low_res_logits"] = new EngineTensor([b, m, lr, lr], p.LowResLogits, null);
            if (p.ObjectScoreLogits is { } batchScores) Outputs[$"{c.Name}.object_score_logits"] = new EngineTensor([b, 1], batchScores, null);
            return;
        }
        if (p.ObjectScoreLogits is { } scores) Outputs[$"{c.Name}.object_score_logits"] = new EngineTensor([1, 1], scores, null);
        Outputs[$"{c.Name}.sparse"] = new EngineTensor([1, tokens, d], predictor.LastSparse, null);
        if (predictor.LastDense is { } dense)
            Outputs[$"{c.Name}.dense"] = new EngineTensor([1, d, g, g], SamPredictor.NhwcToNchw(dense, g * g, d), null);
        Outputs[$"{c.Name}.masks"] = new EngineTensor([m, h, w], null, p.Masks);
        Outputs[$"{c.Name}.mask_logits"] = new EngineTensor([m, h, w], p.MaskLogits, null);
        Outputs[$"{c.Name}.iou_predictions"] = new EngineTensor([m], p.IouPredictions, null);
        Outputs[$"{c.Name}.low_res_logits"] = new EngineTensor([m, lr, lr], p.LowResLogits, null);
    }

    /// <summary>The low-res logits of the best-scoring mask of an earlier case (upstream's mask_from).</summary>
    private float[] BestLowRes(string from, int lr)
    {
        var iou = Outputs[$"{from}.iou_predictions"].Floats!;
        int best = 0;
        for (int i = 1; i < iou.Length; i++) if (iou[i] > iou[best]) best = i;
        return Outputs[$"{from}.low_res_logits"].Floats!.AsSpan(best * lr * lr, lr * lr).ToArray();
    }

    private List<Comparison> Compare(SafeTensorsFile reference)
    {
        var results = new List<Comparison>();
        foreach (var (name, info) in reference.Tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (name == "image" || name.EndsWith(".mask_input", StringComparison.Ordinal)) continue; // inputs
            if (!Outputs.TryGetValue(name, out var mine))
            {
                results.Add(new Comparison(name, "missing", double.NaN, double.NaN, 0, 0, false, "the engine produced no such tensor"));
                continue;
            }
            if (!mine.Shape.SequenceEqual(info.Shape))
            {
                results.Add(new Comparison(name, "shape", double.NaN, double.NaN, 0, 0, false,
                    $"engine shape {ShapeUtil.Format(mine.Shape)}, reference {ShapeUtil.Format(info.Shape)}"));
                continue;
            }
            var engine = mine.Floats ?? mine.Bytes!.Select(x => (float)x).ToArray();
            results.Add(TensorCompare.Compare(name, engine, reference.ReadFloat32(name), info.DType == SafeTensorDType.F16, precision));
        }
        return results;
    }

    /// <summary>Writes the outputs as safetensors under the reference names (atomically).</summary>
    public void WriteOutputs(string path)
    {
        var writer = new SafeTensorsWriter();
        foreach (var (name, t) in Outputs)
        {
            if (t.Bytes is not null) writer.AddUInt8(name, t.Shape, t.Bytes);
            else writer.AddFloat32(name, t.Shape, t.Floats!);
        }
        writer.Write(path, new Dictionary<string, string> { ["producer"] = "samengine parity" });
    }
}
