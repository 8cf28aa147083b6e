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
    private readonly Parameter _up0W, _up0B, _up3W, _up3B;
    private readonly LayerNorm _up1;
    private readonly Mlp[] _hypernetworks;
    private readonly Mlp _iouHead;
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Tensor, ImageSide> _imageSides = new();

    internal MaskDecoder(WeightScope vb, SamArchitecture a)
    {
        _arch = a;
        int d = a.PromptEmbedDim;
        _iouToken = vb.Get("iou_token.weight", 1, d).ToFloat();
        _maskTokens = vb.Get("mask_tokens.weight", a.NumMaskTokens, d).ToFloat();
        _transformer = new TwoWayTransformer(vb.Push("transformer"), a.DecoderDepth, d, a.DecoderHeads, a.DecoderMlpDim);
        var up = vb.Push("output_upscaling");
        _up0W = up.Get("0.weight", d, d / 4, 2, 2);
        _up0B = up.Get("0.bias", d / 4);
        _up1 = new LayerNorm(up.Push(1), d / 4, Eps);
        _up3W = up.Get("3.weight", d / 4, d / 8, 2, 2);
        _up3B = up.Get("3.bias", d / 8);
        _hypernetworks = Enumerable.Range(0, a.NumMaskTokens)
            .Select(i => new Mlp(vb.Push("output_hypernetworks_mlps").Push(i), d, d, d / 8, 3)).ToArray();
        _iouHead = new Mlp(vb.Push("iou_prediction_head"), d, a.IouHeadHiddenDim, a.NumMaskTokens, 3);
    }

    /// <summary>
    /// Predicts masks for B prompts. <paramref name="imageTokens"/> [1, g·g, D] is the image embedding
    /// as tokens, <paramref name="imagePe"/> [1, g·g, D] the dense PE, <paramref name="sparse"/> [B, N, D],
    /// <paramref name="dense"/> either [B, g·g, D] (mask inputs) or null (the no-mask embedding).
    /// Returns low-res logits [B, M, 4g, 4g] and IoU predictions [B, M], M = 3 with multimask else 1.
    /// </summary>
    public (Tensor LowRes, Tensor Iou) Forward(IBackend be, Tensor imageTokens, Tensor imagePe, Tensor sparse, Tensor? dense, Parameter noMaskEmbed, bool multimask)
    {
        int b = sparse.Dim(0), d = _arch.PromptEmbedDim, g = _arch.GridSize, hw = g * g;
        int outTokens = 1 + _arch.NumMaskTokens;
        var output = new float[b * outTokens * d];
        for (int i = 0; i < b; i++)
        {
            _iouToken.CopyTo(output, i * outTokens * d);
            _maskTokens.CopyTo(output, i * outTokens * d + d);
        }
        var tokens = be.ConcatRows(be.FromHost(output, b, outTokens, d), sparse);

        var image = be.Reshape(imageTokens, hw, d);
        var pe = be.Reshape(imagePe, hw, d);
        Tensor hs, keys;
        if (dense is null)
        {
            // No mask input: the image side is the same for every prompt, and is prepared once per image.
            var side = _imageSides.GetValue(imageTokens, _ =>
                _transformer.PrepareImageSide(be, be.Add(image, be.Reshape(be.FromParameter(noMaskEmbed), d)), pe));
            (hs, keys) = _transformer.Forward(be, side, pe, tokens);
        }
        else (hs, keys) = _transformer.Forward(be, be.Add(dense, image), pe, tokens);

        // output_upscaling: ConvT → LayerNorm2d → GELU, then ConvT → GELU, each step one fused op.
        var up = be.ConvTranspose2x2(be.Reshape(keys, b, g, g, d), _up0W, _up0B, _up1.AsChannelNorm(), Activation.Gelu);
        up = be.ConvTranspose2x2(up, _up3W, _up3B, act: Activation.Gelu); // [B, 4g, 4g, D/8]

        var hyper = be.ConcatRows(Enumerable.Range(0, _arch.NumMaskTokens)
            .Select(i => _hypernetworks[i].Forward(be, be.SliceRows(hs, 1 + i, 1))).ToArray()); // [B, 4, D/8]
        var masks = be.MatMulTransposed(hyper, be.Reshape(up, b, 16 * hw, d / 8)); // [B, 4, 16 hw]
        var iou = _iouHead.Forward(be, be.SliceRows(hs, 0, 1)); // [B, 1, 4]

        int first = multimask ? 1 : 0, count = multimask ? _arch.NumMaskTokens - 1 : 1;
        masks = be.SliceRows(masks, first, count);
        iou = be.SliceRows(be.Reshape(iou, b, _arch.NumMaskTokens, 1), first, count);
        return (be.Reshape(masks, b, count, 4 * g, 4 * g), be.Reshape(iou, b, count));
    }
}
