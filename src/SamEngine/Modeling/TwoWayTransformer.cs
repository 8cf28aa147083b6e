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

    /// <summary>
    /// The transformer's weights under <paramref name="vb"/>; <paramref name="mlpNames"/> are its MLP's two
    /// layers, SAM 1's <c>lin1</c>, <c>lin2</c> or SAM 2.1's <c>layers.0</c>, <c>layers.1</c>.
    /// </summary>
    public TwoWayTransformer(WeightScope vb, int depth, int dim, int heads, int mlpDim, (string First, string Second) mlpNames)
    {
        _layers = Enumerable.Range(0, depth)
            .Select(i => new TwoWayAttentionBlock(vb.Push("layers").Push(i), dim, heads, mlpDim, skipFirstLayerPe: i == 0, mlpNames))
            .ToArray();
        _finalAttn = new DecoderAttention(vb.Push("final_attn_token_to_image"), dim, heads, downsampleRate: 2);
        _normFinal = new LayerNorm(vb.Push("norm_final_attn"), dim, Eps);
    }

    /// <summary>
    /// The first block's image side with its projections, for keys <paramref name="keys"/> [g·g, D] that
    /// every prompt shares (no mask input): made once per image, then passed to <see cref="Forward"/> for
    /// any number of prompts. The result owns <paramref name="keys"/>.
    /// </summary>
    public ImageSide PrepareImageSide(IBackend be, Tensor keys, Tensor imagePe) => _layers[0].PrepareImageSide(be, keys, imagePe);

    /// <summary>
    /// Returns the processed tokens [B, T, D] and image positions [B, g·g, D] for prompt tokens
    /// <paramref name="tokens"/> [B, T, D] over <paramref name="image"/> (the caller's: neither it nor
    /// <paramref name="tokens"/> is disposed here).
    /// </summary>
    public (Tensor Queries, Tensor Keys) Forward(IBackend be, ImageSide image, Tensor imagePe, Tensor tokens)
    {
        Tensor queries = tokens;
        var side = image;
        try
        {
            foreach (var layer in _layers)
            {
                var (nextQueries, nextKeys) = layer.Forward(be, queries, side, tokens, imagePe);
                Release(queries, side);
                (queries, side) = (nextQueries, new ImageSide(nextKeys));
            }
            using var q = be.Add(queries, tokens);
            using var k = be.Add(side.Keys, imagePe);
            using var attn = _finalAttn.AttendImage(be, q, k, side.Keys, projected: false);
            var final = _normFinal.Forward(be, queries, attn);
            Release(queries, null);
            return (final, side.Keys);
        }
        catch
        {
            Release(queries, side);
            throw;
        }

        // Intermediates of earlier blocks; never the caller's tokens or image side.
        void Release(Tensor q, ImageSide? s)
        {
            if (!ReferenceEquals(q, tokens)) q.Dispose();
            if (s is not null && !ReferenceEquals(s, image)) s.Dispose();
        }
    }

    /// <summary>Self attention, token→image cross attention, MLP, image→token cross attention.</summary>
    private sealed class TwoWayAttentionBlock
    {
        private readonly DecoderAttention _selfAttn, _tokenToImage, _imageToToken;
        private readonly LayerNorm _norm1, _norm2, _norm3, _norm4;
        private readonly Linear _lin1, _lin2;
        private readonly bool _skipFirstLayerPe;

        public TwoWayAttentionBlock(WeightScope vb, int dim, int heads, int mlpDim, bool skipFirstLayerPe, (string First, string Second) mlpNames)
        {
            _skipFirstLayerPe = skipFirstLayerPe;
            _selfAttn = new DecoderAttention(vb.Push("self_attn"), dim, heads, downsampleRate: 1);
            _norm1 = new LayerNorm(vb.Push("norm1"), dim, Eps);
            _tokenToImage = new DecoderAttention(vb.Push("cross_attn_token_to_image"), dim, heads, downsampleRate: 2);
            _norm2 = new LayerNorm(vb.Push("norm2"), dim, Eps);
            _lin1 = new Linear(vb.Push("mlp").Push(mlpNames.First), dim, mlpDim);
            _lin2 = new Linear(vb.Push("mlp").Push(mlpNames.Second), mlpDim, dim);
            _norm3 = new LayerNorm(vb.Push("norm3"), dim, Eps);
            _norm4 = new LayerNorm(vb.Push("norm4"), dim, Eps);
            _imageToToken = new DecoderAttention(vb.Push("cross_attn_image_to_token"), dim, heads, downsampleRate: 2);
        }

        /// <summary>
        /// One block over <paramref name="image"/>: new queries [B, T, D] and keys [B, g·g, D]; the inputs
        /// are left to the caller. With the image side's projections cached, the attentions read them;
        /// without, the backend's fused ops project keys + PE and keys themselves.
        /// </summary>
        public (Tensor Queries, Tensor Keys) Forward(IBackend be, Tensor queries, ImageSide image, Tensor queryPe, Tensor keyPe)
        {
            var keys = image.Keys;
            // Unprojected, keys + PE are the token→image keys and the image→token queries.
            using var keysPe = image.IsProjected ? null : be.Add(keys, keyPe);
            var x = SelfAttention(be, queries, queryPe);

            using (var q = be.Add(x, queryPe))
            using (var attn = _tokenToImage.AttendImage(be, q, image.TokenToImageK ?? keysPe!, image.TokenToImageV ?? keys, image.IsProjected))
                x = Residual(be, _norm2, x, attn);
            x = Mlp(be, x);

            using (var q = be.Add(x, queryPe))
            using (var attn = _imageToToken.AttendTokens(be, image.ImageToTokenQ ?? keysPe!, q, x, image.IsProjected))
                return (x, _norm4.Forward(be, attn, keys)); // norm(keys + attn); the image side may be shared by every prompt
        }

        /// <summary>See <see cref="TwoWayTransformer.PrepareImageSide"/>: the projections of this block that read only the image.</summary>
        public ImageSide PrepareImageSide(IBackend be, Tensor keys, Tensor keyPe)
        {
            int hw = keys.Dim(0), d = keys.Dim(1);
            using var keysPe = be.Add(keys, keyPe);
            using var k = be.Reshape(keysPe, 1, hw, d);
            using var v = be.Reshape(keys, 1, hw, d);
            return new ImageSide(keys, _tokenToImage.ProjectK(be, k), _tokenToImage.ProjectV(be, v), _imageToToken.ProjectQ(be, k));
        }

        /// <summary>New queries; the input <paramref name="queries"/> is left to the caller.</summary>
        private Tensor SelfAttention(IBackend be, Tensor queries, Tensor queryPe)
        {
            if (_skipFirstLayerPe)
            {
                using var replaced = _selfAttn.Forward(be, queries, queries, queries);
                return _norm1.Forward(be, replaced);
            }
            using var q0 = be.Add(queries, queryPe);
            using var attn = _selfAttn.Forward(be, q0, q0, queries);
            return _norm1.Forward(be, queries, attn);
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

    /// <summary>Attention of a few tokens among themselves: q, k, v [B, T, D] → [B, T, D].</summary>
    public Tensor Forward(IBackend be, Tensor q, Tensor k, Tensor v)
    {
        using var qp = ProjectQ(be, q);
        using var kp = ProjectK(be, k);
        using var vp = ProjectV(be, v);
        using var heads = be.Attention(qp, kp, vp, _heads);
        return _out.Forward(be, heads);
    }

    public Tensor ProjectQ(IBackend be, Tensor q) => _q.Forward(be, q);

    public Tensor ProjectK(IBackend be, Tensor k) => _k.Forward(be, k);

    public Tensor ProjectV(IBackend be, Tensor v) => _v.Forward(be, v);

    /// <summary>
    /// A few tokens <paramref name="q"/> [B, T, D] attend to image positions: <paramref name="keys"/> and
    /// <paramref name="values"/> [1 or B, N, D], projected inside the backend's fused op, or, when
    /// <paramref name="projected"/>, already projected [1 or B, N, D/r].
    /// </summary>
    public Tensor AttendImage(IBackend be, Tensor q, Tensor keys, Tensor values, bool projected)
    {
        using var qp = ProjectQ(be, q);
        using var heads = be.TokenToImageAttention(qp, keys, WeightOf(_k, projected), BiasOf(_k, projected),
            values, WeightOf(_v, projected), BiasOf(_v, projected), _heads);
        return _out.Forward(be, heads);
    }

    /// <summary>
    /// Image positions <paramref name="image"/> [1 or B, N, D] (or, when <paramref name="projected"/>, their
    /// queries [1 or B, N, D/r]) attend to a few tokens <paramref name="k"/>, <paramref name="v"/> [B, T, D].
    /// </summary>
    public Tensor AttendTokens(IBackend be, Tensor image, Tensor k, Tensor v, bool projected)
    {
        using var kp = ProjectK(be, k);
        using var vp = ProjectV(be, v);
        return be.ImageToTokenAttention(image, WeightOf(_q, projected), BiasOf(_q, projected), kp, vp, _heads, _out.Weight, _out.Bias!);
    }

    // The fused ops take null weights for an operand that is already projected.
    private static Parameter? WeightOf(Linear projection, bool projected) => projected ? null : projection.Weight;

    private static Parameter? BiasOf(Linear projection, bool projected) => projected ? null : projection.Bias;
}

/// <summary>
/// The image side of a two-way block: its keys, image positions [g·g, D] shared by every prompt or
/// [B, g·g, D] per prompt, and, when <see cref="TwoWayTransformer.PrepareImageSide"/> made it once for
/// an image, the first block's projections of them: token→image K and V and image→token Q, each
/// [1, g·g, D/2]. Owns and disposes every tensor it holds.
/// </summary>
internal sealed record ImageSide(Tensor Keys, Tensor? TokenToImageK = null, Tensor? TokenToImageV = null, Tensor? ImageToTokenQ = null) : IDisposable
{
    /// <summary>Whether the projections are held (all three or none).</summary>
    public bool IsProjected => TokenToImageK is not null;

    public void Dispose()
    {
        Keys.Dispose();
        TokenToImageK?.Dispose();
        TokenToImageV?.Dispose();
        ImageToTokenQ?.Dispose();
    }
}
