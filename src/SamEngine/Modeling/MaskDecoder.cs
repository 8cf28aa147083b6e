using SamEngine.Backends;
using SamEngine.Config;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// The mask decoder (<c>mask_decoder.*</c>): output tokens plus prompt tokens through the two-way
/// transformer, transposed-conv upscaling of the image side, hypernetwork MLPs dotted with it, and
/// the IoU head.
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

    internal MaskDecoder(WeightScope vb, SamArchitecture a)
    {
        _arch = a;
        int d = a.PromptEmbedDim;
        _iouToken = vb.Get("iou_token.weight", 1, d).ToFloat();
        _maskTokens = vb.Get("mask_tokens.weight", a.NumMaskTokens, d).ToFloat();
        _transformer = new TwoWayTransformer(vb.Push("transformer"), a.DecoderDepth, d, a.DecoderHeads, a.DecoderMlpDim);
        var up = vb.Push("output_upscaling");
        _upscaling = new UpscalingWeights(up.Get("0.weight", d, d / 4, 2, 2), up.Get("0.bias", d / 4),
            up.Get("1.weight", d / 4), up.Get("1.bias", d / 4), Eps, up.Get("3.weight", d / 4, d / 8, 2, 2), up.Get("3.bias", d / 8));
        _hypernetworks = Enumerable.Range(0, a.NumMaskTokens)
            .Select(i => new Mlp(vb.Push("output_hypernetworks_mlps").Push(i), d, d, d / 8, 3)).ToArray();
        _iouHead = new Mlp(vb.Push("iou_prediction_head"), d, a.IouHeadHiddenDim, a.NumMaskTokens, 3);
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
        int outTokens = 1 + _arch.NumMaskTokens;
        var output = new float[b * outTokens * d];
        for (int i = 0; i < b; i++)
        {
            _iouToken.CopyTo(output, i * outTokens * d);
            _maskTokens.CopyTo(output, i * outTokens * d + d);
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
            int first = multimask ? 1 : 0, count = MaskCount(multimask);
            Tensor iou;
            using (var iouToken = be.SliceRows(hs, 0, 1))
            using (var iouAll = _iouHead.Forward(be, iouToken)) // [B, 1, 4]
            using (var iouRows = be.Reshape(iouAll, b, _arch.NumMaskTokens, 1))
            using (var iouChosen = be.SliceRows(iouRows, first, count))
                iou = be.Reshape(iouChosen, b, count);

            try
            {
                int[] withMasks = PromptsPassingGate(be, iou, iouGate);
                if (withMasks.Length == 0) return new DecodedPass(start, iou, withMasks, null);
                using var hsPart = withMasks.Length == b ? null : GatherBatch(be, hs, withMasks);
                using var keysPart = withMasks.Length == b ? null : GatherBatch(be, keys, withMasks);
                using var masks = PredictMasks(be, hsPart ?? hs, keysPart ?? keys, withMasks.Length, first, count);
                return new DecodedPass(start, iou, withMasks, be.Reshape(masks, withMasks.Length, count, 4 * g, 4 * g));
            }
            catch
            {
                iou.Dispose();
                throw;
            }
        }
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
    private Tensor PredictMasks(IBackend be, Tensor hs, Tensor keys, int b, int first, int count)
    {
        int d = _arch.PromptEmbedDim, g = _arch.GridSize;
        var hyperParts = Enumerable.Range(first, count).Select(i =>
        {
            using var token = be.SliceRows(hs, 1 + i, 1);
            return _hypernetworks[i].Forward(be, token);
        }).ToArray();
        using var hyper = be.ConcatRows(hyperParts); // [B, masks, D/8]
        foreach (var part in hyperParts) part.Dispose();
        using (var grid = be.Reshape(keys, b, g, g, d))
            return be.UpscaledMaskLogits(grid, _upscaling, hyper);
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
/// <see cref="WithMasks"/> (indices within the pass, ascending), null when none passed the gate.
/// </summary>
internal sealed record DecodedPass(int Start, Tensor Iou, int[] WithMasks, Tensor? LowRes) : IDisposable
{
    public void Dispose()
    {
        Iou.Dispose();
        LowRes?.Dispose();
    }
}
