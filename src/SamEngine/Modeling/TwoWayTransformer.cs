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
        var q = be.Add(queries, tokens);
        var k = be.Add(keys, imagePe);
        queries = be.Add(queries, _finalAttn.Forward(be, q, k, keys));
        return (_normFinal.Forward(be, queries), keys);
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

        public (Tensor, Tensor) Forward(IBackend be, Tensor queries, Tensor keys, Tensor queryPe, Tensor keyPe)
        {
            queries = SelfAttention(be, queries, queryPe);

            var q = be.Add(queries, queryPe);
            var k = be.Add(keys, keyPe);
            queries = _norm2.Forward(be, be.Add(queries, _tokenToImage.Forward(be, q, k, keys)));

            var mlp = _lin2.Forward(be, _lin1.Forward(be, queries, Activation.Relu));
            queries = _norm3.Forward(be, be.Add(queries, mlp));

            q = be.Add(queries, queryPe);
            k = be.Add(keys, keyPe);
            keys = _norm4.Forward(be, be.Add(keys, _imageToToken.Forward(be, k, q, queries)));
            return (queries, keys);
        }

        public ImageSide PrepareImageSide(IBackend be, Tensor src, Tensor keyPe)
        {
            int hw = src.Dim(0), d = src.Dim(1);
            var k = be.Reshape(be.Add(src, keyPe), 1, hw, d);
            var v = be.Reshape(src, 1, hw, d);
            return new ImageSide(src, _tokenToImage.ProjectK(be, k), _tokenToImage.ProjectV(be, v), _imageToToken.ProjectQ(be, k));
        }

        /// <summary>The same steps as the other Forward with the image side shared and its projections cached.</summary>
        public (Tensor, Tensor) Forward(IBackend be, Tensor queries, ImageSide image, Tensor queryPe, Tensor keyPe)
        {
            queries = SelfAttention(be, queries, queryPe);
            int b = queries.Dim(0), t = queries.Dim(1), d = queries.Dim(2), hw = image.Src.Dim(0);

            // Token → image: every prompt's tokens attend to the same keys, so all B·T tokens go as one batch.
            var q = be.Add(queries, queryPe);
            var qp = _tokenToImage.ProjectQ(be, q);
            var attn = _tokenToImage.Attend(be, be.Reshape(qp, 1, b * t, qp.Dim(2)), image.TokenToImageK, image.TokenToImageV);
            queries = _norm2.Forward(be, be.Add(queries, be.Reshape(attn, b, t, d)));

            var mlp = _lin2.Forward(be, _lin1.Forward(be, queries, Activation.Relu));
            queries = _norm3.Forward(be, be.Add(queries, mlp));

            // Image → token: the image-side queries are shared; the prompt tokens are each prompt's own.
            q = be.Add(queries, queryPe);
            var imageQ = image.ImageToTokenQ;
            int inner = imageQ.Dim(2);
            var imageQBatch = b == 1 ? imageQ : be.Add(be.FromHost(new float[b * hw * inner], b, hw, inner), be.Reshape(imageQ, hw, inner));
            var keysOut = _imageToToken.Attend(be, imageQBatch, _imageToToken.ProjectK(be, q), _imageToToken.ProjectV(be, queries));
            var keys = _norm4.Forward(be, be.Add(keysOut, image.Src)); // = keys + attn_out: the image side is the same for every prompt
            return (queries, keys);
        }

        private Tensor SelfAttention(IBackend be, Tensor queries, Tensor queryPe)
        {
            if (_skipFirstLayerPe) queries = _selfAttn.Forward(be, queries, queries, queries);
            else
            {
                var q0 = be.Add(queries, queryPe);
                queries = be.Add(queries, _selfAttn.Forward(be, q0, q0, queries));
            }
            return _norm1.Forward(be, queries);
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
    public Tensor Attend(IBackend be, Tensor qp, Tensor kp, Tensor vp) => _out.Forward(be, be.Attention(qp, kp, vp, _heads));
}

/// <summary>
/// The image side of the decoder's first two-way block when there is no mask input: src [g·g, D]
/// (image embedding + no-mask embedding) and its projections, token→image K and V and image→token Q,
/// each [1, g·g, D/2]. They depend only on the image, so they are made once per image.
/// </summary>
internal sealed record ImageSide(Tensor Src, Tensor TokenToImageK, Tensor TokenToImageV, Tensor ImageToTokenQ);
