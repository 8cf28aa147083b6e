using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// The decoder's two-way transformer (<c>mask_decoder.transformer.*</c>): prompt tokens and image
/// positions attend to each other in turn. Queries are tokens [B, T, D]; keys are image positions
/// [B, g·g, D]; the positional encodings are added before every attention, as upstream does.
/// </summary>
internal sealed class TwoWayTransformer
{
    private const float Eps = 1e-5f; // nn.LayerNorm's default, unlike the encoder's 1e-6
    private readonly TwoWayAttentionBlock[] _layers;
    private readonly DecoderAttention _finalAttn;
    private readonly LayerNorm _normFinal;

    public TwoWayTransformer(WeightScope vb, int depth, int dim, int heads, int mlpDim)
    {
        _layers = Enumerable.Range(0, depth)
            .Select(i => new TwoWayAttentionBlock(vb.Push("layers").Push(i), dim, heads, mlpDim, skipFirstLayerPe: i == 0))
            .ToArray();
        _finalAttn = new DecoderAttention(vb.Push("final_attn_token_to_image"), dim, heads, downsampleRate: 2);
        _normFinal = new LayerNorm(vb.Push("norm_final_attn"), dim, Eps);
    }

    /// <summary>Returns the processed tokens [B, T, D] and image positions [B, g·g, D].</summary>
    public (Tensor Queries, Tensor Keys) Forward(IBackend be, Tensor image, Tensor imagePe, Tensor tokens)
    {
        Tensor queries = tokens, keys = image;
        foreach (var layer in _layers) (queries, keys) = layer.Forward(be, queries, keys, tokens, imagePe);
        return Finish(be, queries, keys, tokens, imagePe);
    }

    /// <summary>
    /// The work of the first block that depends only on the image (no mask input, so every prompt
    /// sees the same image side <paramref name="src"/> [g·g, D]): done once per image, reused by
    /// <see cref="Forward(IBackend, ImageSide, Tensor, Tensor)"/> for any number of prompts.
    /// </summary>
    public ImageSide PrepareImageSide(IBackend be, Tensor src, Tensor imagePe) => _layers[0].PrepareImageSide(be, src, imagePe);

    /// <summary>As <see cref="Forward(IBackend, Tensor, Tensor, Tensor)"/> with the image side shared by all B prompts.</summary>
    public (Tensor Queries, Tensor Keys) Forward(IBackend be, ImageSide image, Tensor imagePe, Tensor tokens)
    {
        var (queries, keys) = _layers[0].Forward(be, tokens, image, tokens, imagePe);
        for (int i = 1; i < _layers.Length; i++) (queries, keys) = _layers[i].Forward(be, queries, keys, tokens, imagePe);
        return Finish(be, queries, keys, tokens, imagePe);
    }

    private (Tensor Queries, Tensor Keys) Finish(IBackend be, Tensor queries, Tensor keys, Tensor tokens, Tensor imagePe)
    {
        using var q = be.Add(queries, tokens);
        using var k = be.Add(keys, imagePe);
        using var attn = _finalAttn.AttendImage(be, q, k, keys);
        using (queries) return (_normFinal.Forward(be, queries, attn), keys);
    }

    /// <summary>Self attention, token→image cross attention, MLP, image→token cross attention.</summary>
    private sealed class TwoWayAttentionBlock
    {
        private readonly DecoderAttention _selfAttn, _tokenToImage, _imageToToken;
        private readonly LayerNorm _norm1, _norm2, _norm3, _norm4;
        private readonly Linear _lin1, _lin2;
        private readonly bool _skipFirstLayerPe;

        public TwoWayAttentionBlock(WeightScope vb, int dim, int heads, int mlpDim, bool skipFirstLayerPe)
        {
            _skipFirstLayerPe = skipFirstLayerPe;
            _selfAttn = new DecoderAttention(vb.Push("self_attn"), dim, heads, downsampleRate: 1);
            _norm1 = new LayerNorm(vb.Push("norm1"), dim, Eps);
            _tokenToImage = new DecoderAttention(vb.Push("cross_attn_token_to_image"), dim, heads, downsampleRate: 2);
            _norm2 = new LayerNorm(vb.Push("norm2"), dim, Eps);
            _lin1 = new Linear(vb.Push("mlp").Push("lin1"), dim, mlpDim);
            _lin2 = new Linear(vb.Push("mlp").Push("lin2"), mlpDim, dim);
            _norm3 = new LayerNorm(vb.Push("norm3"), dim, Eps);
            _norm4 = new LayerNorm(vb.Push("norm4"), dim, Eps);
            _imageToToken = new DecoderAttention(vb.Push("cross_attn_image_to_token"), dim, heads, downsampleRate: 2);
        }

        /// <summary>One block; disposes the <paramref name="queries"/> and <paramref name="keys"/> it replaces.</summary>
        public (Tensor, Tensor) Forward(IBackend be, Tensor queries, Tensor keys, Tensor queryPe, Tensor keyPe)
        {
            queries = SelfAttention(be, queries, queryPe);

            // keys + PE are the token→image keys and the image→token queries.
            using var keysPe = be.Add(keys, keyPe);
            using (var q = be.Add(queries, queryPe))
            using (var attn = _tokenToImage.AttendImage(be, q, keysPe, keys))
                queries = Residual(be, _norm2, queries, attn);
            queries = Mlp(be, queries);

            using (var q = be.Add(queries, queryPe))
            using (var attn = _imageToToken.AttendTokens(be, keysPe, q, queries))
            {
                var next = Residual(be, _norm4, keys, attn);
                return (queries, next);
            }
        }

        public ImageSide PrepareImageSide(IBackend be, Tensor src, Tensor keyPe)
        {
            int hw = src.Dim(0), d = src.Dim(1);
            using var srcPe = be.Add(src, keyPe);
            using var k = be.Reshape(srcPe, 1, hw, d);
            using var v = be.Reshape(src, 1, hw, d);
            return new ImageSide(src, _tokenToImage.ProjectK(be, k), _tokenToImage.ProjectV(be, v), _imageToToken.ProjectQ(be, k));
        }

        /// <summary>The same steps as the other Forward with the image side shared and its projections cached.</summary>
        public (Tensor, Tensor) Forward(IBackend be, Tensor queries, ImageSide image, Tensor queryPe, Tensor keyPe)
        {
            queries = SelfAttention(be, queries, queryPe);

            // Token → image: every prompt's tokens attend to the same, already projected keys and values.
            using (var q = be.Add(queries, queryPe))
            using (var attn = _tokenToImage.AttendImageProjected(be, q, image.TokenToImageK, image.TokenToImageV))
                queries = Residual(be, _norm2, queries, attn);
            queries = Mlp(be, queries);

            // Image → token: the image-side queries are shared; the prompt tokens are each prompt's own.
            using (var q = be.Add(queries, queryPe))
            using (var attn = _imageToToken.AttendTokensProjected(be, image.ImageToTokenQ, q, queries))
                return (queries, _norm4.Forward(be, attn, image.Src)); // keys + attn: the image side is every prompt's keys
        }

        private Tensor SelfAttention(IBackend be, Tensor queries, Tensor queryPe)
        {
            if (_skipFirstLayerPe)
            {
                var replaced = _selfAttn.Forward(be, queries, queries, queries);
                using (replaced) return _norm1.Forward(be, replaced);
            }
            using var q0 = be.Add(queries, queryPe);
            using var attn = _selfAttn.Forward(be, q0, q0, queries);
            return Residual(be, _norm1, queries, attn);
        }

        private Tensor Mlp(IBackend be, Tensor queries)
        {
            using var hidden = _lin1.Forward(be, queries, Activation.Relu);
            using var mlp = _lin2.Forward(be, hidden);
            return Residual(be, _norm3, queries, mlp);
        }

        /// <summary>norm(x + y); disposes x, which it replaces.</summary>
        private static Tensor Residual(IBackend be, LayerNorm norm, Tensor x, Tensor y)
        {
            using (x) return norm.Forward(be, x, y);
        }
    }
}

/// <summary>
/// The decoder's attention: q/k/v projections to D / downsample_rate channels, multi-head softmax
/// attention, output projection back to D.
/// </summary>
internal sealed class DecoderAttention
{
    private readonly Linear _q, _k, _v, _out;
    private readonly int _heads;

    public DecoderAttention(WeightScope vb, int dim, int heads, int downsampleRate)
    {
        int inner = dim / downsampleRate;
        _heads = heads;
        _q = new Linear(vb.Push("q_proj"), dim, inner);
        _k = new Linear(vb.Push("k_proj"), dim, inner);
        _v = new Linear(vb.Push("v_proj"), dim, inner);
        _out = new Linear(vb.Push("out_proj"), inner, dim);
    }

    public Tensor Forward(IBackend be, Tensor q, Tensor k, Tensor v) => Attend(be, ProjectQ(be, q), ProjectK(be, k), ProjectV(be, v));

    public Tensor ProjectQ(IBackend be, Tensor q) => _q.Forward(be, q);

    public Tensor ProjectK(IBackend be, Tensor k) => _k.Forward(be, k);

    public Tensor ProjectV(IBackend be, Tensor v) => _v.Forward(be, v);

    /// <summary>Attention over already projected q, k, v, then the output projection.</summary>
    public Tensor Attend(IBackend be, Tensor qp, Tensor kp, Tensor vp)
    {
        using var heads = be.Attention(qp, kp, vp, _heads);
        return _out.Forward(be, heads);
    }

    /// <summary>A few tokens <paramref name="q"/> attend to image positions (keys and values unprojected).</summary>
    public Tensor AttendImage(IBackend be, Tensor q, Tensor keys, Tensor values)
    {
        using var qp = ProjectQ(be, q);
        using var heads = be.TokenToImageAttention(qp, keys, _k.Weight, _k.Bias!, values, _v.Weight, _v.Bias!, _heads);
        return _out.Forward(be, heads);
    }

    /// <summary>As <see cref="AttendImage"/> with the image side's keys and values already projected.</summary>
    public Tensor AttendImageProjected(IBackend be, Tensor q, Tensor kp, Tensor vp)
    {
        using var qp = ProjectQ(be, q);
        using var heads = be.TokenToImageAttention(qp, kp, null, null, vp, null, null, _heads);
        return _out.Forward(be, heads);
    }

    /// <summary>Image positions (unprojected queries) attend to a few tokens.</summary>
    public Tensor AttendTokens(IBackend be, Tensor image, Tensor k, Tensor v)
    {
        using var kp = ProjectK(be, k);
        using var vp = ProjectV(be, v);
        return be.ImageToTokenAttention(image, _q.Weight, _q.Bias, kp, vp, _heads, _out.Weight, _out.Bias!);
    }

    /// <summary>As <see cref="AttendTokens"/> with the image side's queries already projected.</summary>
    public Tensor AttendTokensProjected(IBackend be, Tensor imageQ, Tensor k, Tensor v)
    {
        using var kp = ProjectK(be, k);
        using var vp = ProjectV(be, v);
        return be.ImageToTokenAttention(imageQ, null, null, kp, vp, _heads, _out.Weight, _out.Bias!);
    }
}

/// <summary>
/// The image side of the decoder's first two-way block when there is no mask input: src [g·g, D]
/// (image embedding + no-mask embedding) and its projections, token→image K and V and image→token Q,
/// each [1, g·g, D/2]. They depend only on the image, so they are made once per image.
/// </summary>
internal sealed record ImageSide(Tensor Src, Tensor TokenToImageK, Tensor TokenToImageV, Tensor ImageToTokenQ);
