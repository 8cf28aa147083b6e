using SamEngine.Backends;
using SamEngine.Config;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// The mask decoder (<c>mask_decoder.*</c>, SAM 2.1's <c>sam_mask_decoder.*</c>): output tokens plus prompt
/// tokens through the two-way transformer, transposed-conv upscaling of the image side, hypernetwork MLPs
/// dotted with it, and the IoU head. SAM 2.1's decoder is the same path with what its image predictor
/// enables (<c>sam2/modeling/sam/mask_decoder.py</c>): an object-score token before the IoU token and its
/// MLP head, the high-resolution features added in the upscaling, a sigmoid on the IoU head, and, when
/// one mask is asked for, the dynamic fallback to the best multimask output when the single mask is unstable.
/// </summary>
public sealed class MaskDecoder
{
    private const float Eps = 1e-6f; // LayerNorm2d
    private readonly SamArchitecture _arch;
    private readonly float[] _iouToken, _maskTokens;
    private readonly TwoWayTransformer _transformer;
    private readonly UpscalingWeights _upscaling;
    private readonly Mlp[] _hypernetworks;
    private readonly Mlp _iouHead;
    private readonly Sam2Heads? _sam2;

    /// <summary>
    /// What SAM 2.1 adds: the object-score token [1, D] and head, the 1x1 convs that make the upscaling's
    /// skips from FPN levels 0 and 1 (<c>conv_s0</c> D → D/8, <c>conv_s1</c> D → D/4).
    /// </summary>
    private sealed record Sam2Heads(float[] ObjScoreToken, Mlp ObjScoreHead, Parameter ConvS0W, Parameter ConvS0B, Parameter ConvS1W, Parameter ConvS1B);

    /// <summary>SAM 2.1's dynamic multimask: the single mask stands when its stability score (delta 0.05) reaches 0.98.</summary>
    private const float StabilityDelta = 0.05f, StabilityThresh = 0.98f;

    internal MaskDecoder(WeightScope vb, SamArchitecture a)
    {
        _arch = a;
        int d = a.PromptEmbedDim;
        bool sam2 = a.Family == ModelFamily.Sam2;
        _iouToken = vb.Get("iou_token.weight", 1, d).ToFloat();
        _maskTokens = vb.Get("mask_tokens.weight", a.NumMaskTokens, d).ToFloat();
        _transformer = new TwoWayTransformer(vb.Push("transformer"), a.DecoderDepth, d, a.DecoderHeads, a.DecoderMlpDim,
            sam2 ? ("layers.0", "layers.1") : ("lin1", "lin2"));
        var up = vb.Push("output_upscaling");
        _upscaling = new UpscalingWeights(up.Get("0.weight", d, d / 4, 2, 2), up.Get("0.bias", d / 4),
            up.Get("1.weight", d / 4), up.Get("1.bias", d / 4), Eps, up.Get("3.weight", d / 4, d / 8, 2, 2), up.Get("3.bias", d / 8));
        _hypernetworks = Enumerable.Range(0, a.NumMaskTokens)
            .Select(i => new Mlp(vb.Push("output_hypernetworks_mlps").Push(i), d, d, d / 8, 3)).ToArray();
        _iouHead = new Mlp(vb.Push("iou_prediction_head"), d, a.IouHeadHiddenDim, a.NumMaskTokens, 3);
        if (sam2)
            _sam2 = new Sam2Heads(vb.Get("obj_score_token.weight", 1, d).ToFloat(), new Mlp(vb.Push("pred_obj_score_head"), d, d, 1, 3),
                vb.Get("conv_s0.weight", d / 8, d, 1, 1), vb.Get("conv_s0.bias", d / 8), vb.Get("conv_s1.weight", d / 4, d, 1, 1), vb.Get("conv_s1.bias", d / 4));
    }

    /// <summary>
    /// SAM 2.1's skips from the two finest FPN levels, as <c>SAM2Base.forward_image</c> makes them once per
    /// image: <paramref name="level0"/> [1, 4g, 4g, D] through <c>conv_s0</c> → feat_s0 [1, 4g, 4g, D/8],
    /// <paramref name="level1"/> [1, 2g, 2g, D] through <c>conv_s1</c> → feat_s1 [1, 2g, 2g, D/4].
    /// </summary>
    internal (Tensor FeatS0, Tensor FeatS1) HighResFeatures(IBackend be, Tensor level0, Tensor level1)
    {
        var h = _sam2 ?? throw new InvalidOperationException("a SAM 1 decoder has no high-resolution features");
        var s0 = be.Conv2d(level0, h.ConvS0W, h.ConvS0B, stride: 1, padding: 0);
        try { return (s0, be.Conv2d(level1, h.ConvS1W, h.ConvS1B, stride: 1, padding: 0)); }
        catch
        {
            s0.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Decodes B prompts against an image <paramref name="embedding"/>, in passes of at most
    /// <see cref="PromptsPerPass"/> prompts, which bounds the memory of the per-prompt image-side tensors
    /// (4 MB each per prompt at vit_b) without costing speed. <paramref name="imagePe"/> [1, g·g, D] is the
    /// dense PE, <paramref name="sparse"/> [B, N, D], <paramref name="dense"/> either [B, g·g, D] (mask
    /// inputs) or null (the no-mask embedding: then the image side is the same for every prompt, and is
    /// prepared once and kept with the embedding). Each pass holds low-res logits [B, M, 4g, 4g] and IoU
    /// predictions [B, M], M = <see cref="MaskCount"/>.
    /// With an <paramref name="iouGate"/>, a prompt's masks are computed only when one of its chosen masks
    /// has a predicted IoU above the gate: the IoU head reads the transformer's output token, not the
    /// masks, so the predictions are the same either way, and a caller that drops masks at or below the
    /// gate (the mask generator's <c>pred_iou_thresh</c>) skips the upscaling of prompts it would drop
    /// entirely. The caller disposes each pass.
    /// </summary>
    internal IEnumerable<DecodedPass> Passes(IBackend be, ImageEmbedding embedding, Tensor imagePe, Tensor sparse, Tensor? dense,
        Parameter noMaskEmbed, bool multimask, float? iouGate)
    {
        int b = sparse.Dim(0);
        if (b <= PromptsPerPass)
        {
            yield return ForwardPass(be, embedding, imagePe, sparse, dense, noMaskEmbed, multimask, iouGate, 0);
            yield break;
        }
        for (int start = 0; start < b; start += PromptsPerPass)
        {
            int count = Math.Min(PromptsPerPass, b - start);
            using var sparsePart = SliceBatch(be, sparse, start, count);
            using var densePart = dense is null ? null : SliceBatch(be, dense, start, count);
            yield return ForwardPass(be, embedding, imagePe, sparsePart, densePart, noMaskEmbed, multimask, iouGate, start);
        }
    }

    /// <summary>Masks per prompt: the three of the multimask tokens, else the single-mask token's one.</summary>
    internal int MaskCount(bool multimask) => multimask ? _arch.NumMaskTokens - 1 : 1;

    /// <summary>Prompts decoded together: enough to keep the GEMMs long, few enough to stay in cache-sized memory.</summary>
    internal const int PromptsPerPass = 8;

    private DecodedPass ForwardPass(IBackend be, ImageEmbedding embedding, Tensor imagePe, Tensor sparse, Tensor? dense, Parameter noMaskEmbed,
        bool multimask, float? iouGate, int start)
    {
        int b = sparse.Dim(0), d = _arch.PromptEmbedDim, g = _arch.GridSize, hw = g * g;
        int s = _sam2 is null ? 0 : 1; // SAM 2.1's object-score token comes first
        int outTokens = s + 1 + _arch.NumMaskTokens;
        var output = new float[b * outTokens * d];
        for (int i = 0; i < b; i++)
        {
            _sam2?.ObjScoreToken.CopyTo(output, i * outTokens * d);
            _iouToken.CopyTo(output, (i * outTokens + s) * d);
            _maskTokens.CopyTo(output, (i * outTokens + s + 1) * d);
        }
        using var outputTokens = be.FromHost(output, b, outTokens, d);
        using var tokens = be.ConcatRows(outputTokens, sparse);
        using var pe = be.Reshape(imagePe, hw, d);

        Tensor hs, keys;
        using (var image = be.Reshape(embedding.Tokens, hw, d))
        using (var perPrompt = dense is null ? null : new ImageSide(be.Add(dense, image)))
        {
            var side = perPrompt ?? (embedding.DecoderImageSide ??= PrepareSharedImageSide(be, image, pe, noMaskEmbed));
            (hs, keys) = _transformer.Forward(be, side, pe, tokens);
        }

        using (hs)
        using (keys)
        {
            // SAM 2.1 with one mask asked for decodes all of them and picks per prompt (no gate: the pick reads the masks).
            bool dynamic = _sam2 is not null && !multimask;
            int first = multimask ? 1 : 0, count = dynamic ? _arch.NumMaskTokens : MaskCount(multimask);
            Tensor iou;
            using (var iouToken = be.SliceRows(hs, s, 1))
            using (var iouHead = _iouHead.Forward(be, iouToken)) // [B, 1, 4]
            using (var iouAll = _sam2 is null ? null : Sigmoid(be, iouHead))
            using (var iouRows = be.Reshape(iouAll ?? iouHead, b, _arch.NumMaskTokens, 1))
            using (var iouChosen = be.SliceRows(iouRows, first, count))
                iou = be.Reshape(iouChosen, b, count);

            Tensor? objectScores = null;
            try
            {
                if (_sam2 is not null)
                    using (var objToken = be.SliceRows(hs, 0, 1))
                    using (var objHead = _sam2.ObjScoreHead.Forward(be, objToken)) // [B, 1, 1]
                        objectScores = be.Reshape(objHead, b, 1);
                int[] withMasks = dynamic ? Enumerable.Range(0, b).ToArray() : PromptsPassingGate(be, iou, iouGate);
                if (withMasks.Length == 0) return new DecodedPass(start, iou, withMasks, null, objectScores);
                using var hsPart = withMasks.Length == b ? null : GatherBatch(be, hs, withMasks);
                using var keysPart = withMasks.Length == b ? null : GatherBatch(be, keys, withMasks);
                using var masks = PredictMasks(be, hsPart ?? hs, keysPart ?? keys, embedding, withMasks.Length, first, count, s);
                var planes = be.Reshape(masks, withMasks.Length, count, 4 * g, 4 * g); // a view: keeps the data
                if (!dynamic) return new DecodedPass(start, iou, withMasks, planes, objectScores);
                using (planes)
                {
                    var (chosenIou, chosen) = DynamicMultimask(be, planes, iou);
                    iou.Dispose();
                    iou = chosenIou;
                    return new DecodedPass(start, iou, withMasks, chosen, objectScores);
                }
            }
            catch
            {
                iou.Dispose();
                objectScores?.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// <c>_dynamic_multimask_via_stability</c>: per prompt, the single-mask output (token 0) when its
    /// stability score, area(logits &gt; δ) / area(logits &gt; -δ) (1 when the latter is empty), reaches the
    /// threshold, else the multimask output (tokens 1-3) with the highest predicted IoU, the first on ties.
    /// <paramref name="masks"/> [B, 4, 4g, 4g] and <paramref name="iou"/> [B, 4] → [B, 1, 4g, 4g] and [B, 1].
    /// Only the single-mask planes come to the host; when every prompt picks the same output (always for
    /// one prompt), that plane is sliced on the backend, so a box costs one plane's copy, not four.
    /// </summary>
    private static (Tensor Iou, Tensor Masks) DynamicMultimask(IBackend be, Tensor masks, Tensor iou)
    {
        int b = masks.Dim(0), m = masks.Dim(1), h = masks.Dim(2), w = masks.Dim(3), plane = h * w;
        var scores = be.ToHost(iou);
        var picks = new int[b];
        using (var rows = be.Reshape(masks, b, m, plane))
        {
            float[] singles;
            using (var single = be.SliceRows(rows, 0, 1)) singles = be.ToHost(single);
            for (int i = 0; i < b; i++)
            {
                int best = 1;
                for (int k = 2; k < m; k++) if (scores[i * m + k] > scores[i * m + best]) best = k;
                picks[i] = StabilityScore(singles.AsSpan(i * plane, plane), StabilityDelta) >= StabilityThresh ? 0 : best;
            }
            var chosenIou = be.FromHost(Enumerable.Range(0, b).Select(i => scores[i * m + picks[i]]).ToArray(), b, 1);
            try
            {
                if (picks.All(p => p == picks[0]))
                    using (var slice = be.SliceRows(rows, picks[0], 1))
                        return (chosenIou, be.Reshape(slice, b, 1, h, w));
                var logits = be.ToHost(rows);
                var outMasks = new float[b * plane];
                for (int i = 0; i < b; i++) logits.AsSpan((i * m + picks[i]) * plane, plane).CopyTo(outMasks.AsSpan(i * plane));
                return (chosenIou, be.FromHost(outMasks, b, 1, h, w));
            }
            catch
            {
                chosenIou.Dispose();
                throw;
            }
        }
    }

    /// <summary>Upstream's <c>_get_stability_scores</c> of one mask's logits, the ratio in float32 as torch divides.</summary>
    internal static float StabilityScore(ReadOnlySpan<float> logits, float delta)
    {
        int inner = 0, union = 0;
        foreach (float v in logits)
        {
            if (v > delta) inner++;
            if (v > -delta) union++;
        }
        return union > 0 ? (float)inner / union : 1f;
    }

    /// <summary>The IoU head's sigmoid (<c>iou_prediction_use_sigmoid</c>), on the host: a handful of values per prompt.</summary>
    private static Tensor Sigmoid(IBackend be, Tensor x)
    {
        var v = be.ToHost(x);
        for (int i = 0; i < v.Length; i++) v[i] = (float)(1 / (1 + Math.Exp(-(double)v[i])));
        return be.FromHost(v, x.Shape);
    }

    /// <summary>
    /// Without a mask input every prompt sees the same image side, image [g·g, D] + the no-mask
    /// embedding: it and the first block's projections of it, made once per image.
    /// </summary>
    private ImageSide PrepareSharedImageSide(IBackend be, Tensor image, Tensor pe, Parameter noMaskEmbed)
    {
        using var noMaskValues = be.FromParameter(noMaskEmbed);
        using var noMask = be.Reshape(noMaskValues, _arch.PromptEmbedDim);
        var keys = be.Add(image, noMask);
        try { return _transformer.PrepareImageSide(be, keys, pe); }
        catch
        {
            keys.Dispose();
            throw;
        }
    }

    /// <summary>The prompts (rows of <paramref name="iou"/> [B, M]) with some IoU above the gate; all of them without one.</summary>
    private static int[] PromptsPassingGate(IBackend be, Tensor iou, float? gate)
    {
        int b = iou.Dim(0), m = iou.Dim(1);
        if (gate is not { } threshold) return Enumerable.Range(0, b).ToArray();
        var values = be.ToHost(iou);
        return Enumerable.Range(0, b).Where(i => Enumerable.Range(i * m, m).Any(k => values[k] > threshold)).ToArray();
    }

    /// <summary>
    /// The image side upscaled 4x (transposed convs with LayerNorm2d and GELU) dotted with the
    /// hypernetwork output of mask tokens [first, first + count): mask logits [B, count, 16·g·g]. Masks
    /// that are not returned (the first with multimask, the others without) are not computed; each
    /// mask's product is independent of the others.
    /// </summary>
    private Tensor PredictMasks(IBackend be, Tensor hs, Tensor keys, ImageEmbedding embedding, int b, int first, int count, int s)
    {
        int d = _arch.PromptEmbedDim, g = _arch.GridSize;
        var hyperParts = Enumerable.Range(first, count).Select(i =>
        {
            using var token = be.SliceRows(hs, s + 1 + i, 1);
            return _hypernetworks[i].Forward(be, token);
        }).ToArray();
        using var hyper = be.ConcatRows(hyperParts); // [B, masks, D/8]
        foreach (var part in hyperParts) part.Dispose();
        using (var grid = be.Reshape(keys, b, g, g, d))
            return be.UpscaledMaskLogits(grid, _upscaling, hyper, embedding.FeatS1, embedding.FeatS0);
    }

    /// <summary>Prompts [start, start + count) of a [B, ...] tensor.</summary>
    private static Tensor SliceBatch(IBackend be, Tensor x, int start, int count)
    {
        int rest = x.Length / x.Dim(0);
        using var rows = be.Reshape(x, 1, x.Dim(0), rest);
        using var part = be.SliceRows(rows, start, count);
        return be.Reshape(part, [count, .. x.Shape[1..]]);
    }

    /// <summary>The prompts <paramref name="indices"/> (ascending) of a [B, ...] tensor, as one batch.</summary>
    private static Tensor GatherBatch(IBackend be, Tensor x, int[] indices)
    {
        var parts = indices.Select(i => SliceBatch(be, x, i, 1)).ToList();
        try { return ConcatBatch(be, parts); }
        finally { foreach (var p in parts) p.Dispose(); }
    }

    /// <summary>[B_i, ...] tensors joined along the batch.</summary>
    private static Tensor ConcatBatch(IBackend be, List<Tensor> parts)
    {
        var rows = parts.Select(p => be.Reshape(p, 1, p.Dim(0), p.Length / p.Dim(0))).ToArray();
        using var joined = be.ConcatRows(rows);
        foreach (var r in rows) r.Dispose();
        return be.Reshape(joined, [parts.Sum(p => p.Dim(0)), .. parts[0].Shape[1..]]);
    }
}

/// <summary>
/// One pass of <see cref="MaskDecoder.Passes"/>: prompts [Start, Start + B). <see cref="Iou"/> [B, M] holds every
/// prompt's predictions; <see cref="LowRes"/> [WithMasks.Length, M, 4g, 4g] the logits of the prompts
/// <see cref="WithMasks"/> (indices within the pass, ascending), null when none passed the gate;
/// <see cref="ObjectScores"/> [B, 1] SAM 2.1's object-score logits (null for SAM 1).
/// </summary>
internal sealed record DecodedPass(int Start, Tensor Iou, int[] WithMasks, Tensor? LowRes, Tensor? ObjectScores = null) : IDisposable
{
    public void Dispose()
    {
        Iou.Dispose();
        LowRes?.Dispose();
        ObjectScores?.Dispose();
    }
}
