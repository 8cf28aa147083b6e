using System.Globalization;
using SamEngine.Config;
using SamEngine.Modeling;
using SamEngine.Parity;
using SamEngine.Weights;

namespace SamEngine.Backends;

/// <summary>What <see cref="BackendSelfCheck.Run"/> found: every comparison, or the error that stopped the run.</summary>
/// <param name="Comparisons">Each tensor compared, in order.</param>
/// <param name="Error">The exception's message when the candidate failed to run at all, else null.</param>
public sealed record SelfCheckResult(IReadOnlyList<Comparison> Comparisons, string? Error)
{
    /// <summary>True when the candidate ran and every tensor is within its limit.</summary>
    public bool Passed => Error is null && Comparisons.All(c => c.Passed);

    /// <summary>
    /// One line: the tensors beyond their limits with the measure and the limit, or the error; when it
    /// passed, the number of tensors and the worst relative L2 error.
    /// </summary>
    public string Summary
    {
        get
        {
            if (Error is not null) return $"it failed to run: {Error}";
            var bad = Comparisons.Where(c => !c.Passed).ToList();
            if (bad.Count == 0)
                return $"{Comparisons.Count} tensors within the limits (worst rel L2 {Comparisons.Max(c => double.IsFinite(c.RelL2) ? c.RelL2 : 0).ToString("G3", CultureInfo.InvariantCulture)})";
            return string.Join("; ", bad.Select(Describe));
        }
    }

    private static string Describe(Comparison c)
    {
        var ci = CultureInfo.InvariantCulture;
        string measured = c.Metric switch
        {
            "rel L2" => $"rel L2 {c.RelL2.ToString("G3", ci)} > {c.Limit.ToString("G3", ci)}",
            "max abs" => $"max abs {c.MaxAbs.ToString("G3", ci)} > {c.Limit.ToString("G3", ci)}",
            _ => $"{c.EqualShare:P2} {c.Metric} < {c.Limit:P1}",
        };
        return c.Detail.Length > 0 ? $"{c.Name}: {measured} ({c.Detail})" : $"{c.Name}: {measured}";
    }
}

/// <summary>
/// The start-up check that stands between a user and a backend that has never been seen to compute right
/// on their device: a small generated SAM 1 model and a small generated SAM 2.1 model each encode a
/// synthetic image and answer two prompts (points with a box, then a point with the first answer's mask
/// as input) on the candidate and on the managed <c>cpu</c> backend, and every output is compared with
/// the limits of <c>engine-contracts.md</c> ("Limits"; fp16 ones for fp16 activations). It takes a
/// fraction of a second.
/// </summary>
public static class BackendSelfCheck
{
    /// <summary>A SAM 1 model small enough to run in milliseconds (the tiny fixture's architecture).</summary>
    private const string Sam1Json = """
        {"img_size": 256, "patch_size": 16, "embed_dim": 32, "depth": 2, "num_heads": 2, "global_attn_indexes": [1],
         "window_size": 14, "prompt_embed_dim": 32, "decoder_depth": 2, "decoder_heads": 2, "decoder_mlp_dim": 64,
         "mask_in_chans": 16, "iou_head_hidden_dim": 32, "num_multimask_outputs": 3}
        """;

    /// <summary>A SAM 2.1 model as small (the sam2.1_tiny fixture's architecture).</summary>
    private const string Sam2Json = """
        {"family": "sam2", "img_size": 256, "prompt_embed_dim": 32, "decoder_depth": 2, "decoder_heads": 8,
         "decoder_mlp_dim": 2048, "mask_in_chans": 16, "iou_head_hidden_dim": 256, "num_multimask_outputs": 3,
         "hiera": {"embed_dim": 16, "num_heads": 1, "stages": [1, 2, 2, 1], "global_att_blocks": [4], "window_spec": [8, 4, 4, 2],
                   "window_pos_embed_bkg_spatial_size": [4, 4], "fpn_top_down_levels": [2, 3]}}
        """;

    private const int Height = 120, Width = 184; // not square, not a multiple of the patch: padding is exercised

    /// <summary>
    /// Runs the check on <paramref name="candidate"/> against a new <c>cpu</c> backend, comparing at the
    /// limits of <paramref name="precision"/>. The candidate is not disposed; an exception it throws is a
    /// failed check, not an error of this method.
    /// </summary>
    public static SelfCheckResult Run(IBackend candidate, Precision precision = Precision.Fp32)
    {
        using var reference = new Cpu.CpuBackend();
        return Run(candidate, reference, precision);
    }

    /// <summary>As <see cref="Run(IBackend, Precision)"/>, against <paramref name="reference"/>.</summary>
    public static SelfCheckResult Run(IBackend candidate, IBackend reference, Precision precision)
    {
        var comparisons = new List<Comparison>();
        foreach (var (name, json) in new[] { ("sam1", Sam1Json), ("sam2", Sam2Json) })
        {
            var arch = SamArchitecture.FromJson(json);
            var expected = Outputs(arch, reference);
            Dictionary<string, float[]> actual;
            try { actual = Outputs(arch, candidate); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return new SelfCheckResult(comparisons, $"{name}: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            }
            foreach (var (tensor, values) in expected)
                comparisons.Add(TensorCompare.Compare($"{name}.{tensor}", actual[tensor], values, referenceIsFp16: false, precision));
        }
        return new SelfCheckResult(comparisons, null);
    }

    /// <summary>The generated model's outputs on <paramref name="backend"/>, by the names the limits know.</summary>
    private static Dictionary<string, float[]> Outputs(SamArchitecture arch, IBackend backend)
    {
        using var model = SamModel.Create(arch, new GeneratedWeightSource(seed: 1), backend, "self-check");
        using var predictor = new SamPredictor(model);
        predictor.SetImage(SyntheticImage(), Height, Width);
        var emb = predictor.Embedding!;
        var outputs = new Dictionary<string, float[]> { ["image_embeddings"] = emb.ImageEmbeddings };
        if (emb.HighResFeats0 is { } f0 && emb.HighResFeats1 is { } f1)
        {
            outputs["high_res_feats_0"] = f0;
            outputs["high_res_feats_1"] = f1;
        }
        var first = predictor.Predict(new SamPrompt { Points = [(60f, 40f, 1), (150f, 90f, 0)], Box = [20, 10, 170, 110] }, multimask: true);
        Add(outputs, "box_points", first);
        int plane = first.LowResSize * first.LowResSize;
        var second = predictor.Predict(new SamPrompt
        {
            Points = [(100f, 70f, 1)], MaskInput = first.LowResLogits.AsSpan(0, plane).ToArray(),
        }, multimask: false);
        Add(outputs, "mask_input", second);
        return outputs;
    }

    private static void Add(Dictionary<string, float[]> outputs, string prompt, SamPrediction p)
    {
        outputs[$"{prompt}.low_res_logits"] = p.LowResLogits;
        outputs[$"{prompt}.iou_predictions"] = p.IouPredictions;
        outputs[$"{prompt}.masks"] = p.Masks.Select(b => (float)b).ToArray();
    }

    /// <summary>Smooth gradients with edges, so that the encoder sees structure rather than noise.</summary>
    private static byte[] SyntheticImage()
    {
        var rgb = new byte[Height * Width * 3];
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
            {
                int i = (y * Width + x) * 3;
                bool inside = (x - 90) * (x - 90) + (y - 60) * (y - 60) < 40 * 40;
                rgb[i] = (byte)(inside ? 220 : x * 255 / Width);
                rgb[i + 1] = (byte)(y * 255 / Height);
                rgb[i + 2] = (byte)((x ^ y) & 0xff);
            }
        return rgb;
    }
}
