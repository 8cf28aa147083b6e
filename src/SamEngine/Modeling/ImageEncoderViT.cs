using SamEngine.Backends;
using SamEngine.Config;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// The ViT image encoder (<c>image_encoder.*</c>): patch embedding, absolute position embedding,
/// windowed and global blocks with decomposed relative positions, and the conv neck.
/// Tokens are NHWC [1, g, g, C] throughout; the output is NCHW [1, D, g, g] as upstream returns it.
/// </summary>
public sealed class ImageEncoderViT
{
    private const float Eps = 1e-6f;
    private readonly SamArchitecture _arch;
    private readonly Parameter _patchWeight, _patchBias, _posEmbed;
    private readonly Block[] _blocks;
    private readonly ConvNeck _neck;

    internal ImageEncoderViT(WeightScope vb, SamArchitecture a)
    {
        _arch = a;
        int c = a.EmbedDim, g = a.GridSize, d = a.PromptEmbedDim;
        _patchWeight = vb.Get("patch_embed.proj.weight", c, 3, a.PatchSize, a.PatchSize);
        _patchBias = vb.Get("patch_embed.proj.bias", c);
        _posEmbed = vb.Get("pos_embed", 1, g, g, c);
        _blocks = new Block[a.Depth];
        for (int i = 0; i < a.Depth; i++)
        {
            int window = a.GlobalAttnIndexes.Contains(i) ? 0 : a.WindowSize;
            _blocks[i] = new Block(vb.Push("blocks").Push(i), c, a.NumHeads, window, window > 0 ? window : g);
        }
        _neck = new ConvNeck(vb.Push("neck"), c, d);
    }

    /// <summary>
    /// Encodes a normalised, padded image given as NHWC [1, S, S, 3]. <paramref name="tap"/>, when set,
    /// receives the intermediates under the fixture names (<c>patch_embed</c>, <c>block_i</c>,
    /// <c>neck_conv1</c>) and <paramref name="progress"/> the number of blocks done.
    /// </summary>
    public Tensor Forward(IBackend be, Tensor image, Action<string, Tensor>? tap = null, Action<int, int>? progress = null)
    {
        // Each step's input is disposed once consumed (the backend reuses the buffer), except what a
        // tap has seen, which the tap may keep.
        Tensor Step(Tensor input, Tensor output)
        {
            if (tap is null) input.Dispose();
            return output;
        }
        var x = be.Conv2d(image, _patchWeight, _patchBias, stride: _arch.PatchSize, padding: 0);
        using (var posEmbed = be.FromParameter(_posEmbed))
            x = Step(x, be.Add(x, posEmbed));
        tap?.Invoke("patch_embed", x);
        for (int i = 0; i < _blocks.Length; i++)
        {
            x = _blocks[i].Forward(be, x, consumeInput: tap is null);
            tap?.Invoke($"block_{i}", x);
            progress?.Invoke(i + 1, _blocks.Length);
        }
        return _neck.Forward(be, x, tap);
    }

    /// <summary>One ViT block: x + Attn(LN(x)), then x + MLP(LN(x)).</summary>
    /// <summary>
    /// The largest MLP hidden activation (bytes of fp32) computed for all tokens at once; above it the
    /// MLP runs over half the tokens at a time. Settable for tests of both paths.
    /// </summary>
    internal static long MlpWholeHiddenBytes { get; set; } = 64L << 20;

    private sealed class Block
    {
        private readonly LayerNorm _norm1, _norm2;
        private readonly Linear _qkv, _proj, _lin1, _lin2;
        private readonly Parameter _relPosH, _relPosW;
        private readonly int _heads, _window;

        public Block(WeightScope vb, int dim, int heads, int window, int relSize)
        {
            _heads = heads;
            _window = window;
            _norm1 = new LayerNorm(vb.Push("norm1"), dim, Eps);
            _norm2 = new LayerNorm(vb.Push("norm2"), dim, Eps);
            var attn = vb.Push("attn");
            _qkv = new Linear(attn.Push("qkv"), dim, 3 * dim);
            _proj = new Linear(attn.Push("proj"), dim, dim);
            _relPosH = attn.Get("rel_pos_h", 2 * relSize - 1, dim / heads);
            _relPosW = attn.Get("rel_pos_w", 2 * relSize - 1, dim / heads);
            _lin1 = new Linear(vb.Push("mlp").Push("lin1"), dim, 4 * dim);
            _lin2 = new Linear(vb.Push("mlp").Push("lin2"), 4 * dim, dim);
        }

        /// <summary>
        /// The block's output; <paramref name="consumeInput"/> disposes <paramref name="x"/> as soon as
        /// it is used (when no tap keeps it).
        /// </summary>
        public Tensor Forward(IBackend be, Tensor x, bool consumeInput)
        {
            // Each intermediate is disposed as soon as it is consumed, before the next op allocates
            // where possible, so the backend reuses its buffer: at most three C-wide tensors and the
            // qkv (3C wide) or half the MLP hidden are live at once. Both residual adds are fused
            // into the epilogue of the projection before them.
            Tensor qkv, attn, mid;
            using (var normed = _norm1.Forward(be, x)) qkv = _qkv.Forward(be, normed);
            using (qkv) attn = be.VitAttention(qkv, _heads, _window, _relPosH, _relPosW, _qkv.Bias!);
            using (attn) mid = _proj.Forward(be, attn, residual: x);
            if (consumeInput) x.Dispose();
            using (mid) return MlpResidual(be, mid);
        }

        /// <summary>
        /// mid + MLP(LN(mid)). When the hidden activation [T, 4C] is large (ViT-L, ViT-H: 67 and 84 MB)
        /// the MLP runs over each half of the tokens in turn: the hidden of a half then fits in the
        /// buffer the qkv [T, 3C] had, so the block never needs both. Rows are independent, so this is
        /// exact; for ViT-B (50 MB) the split would cost more (a second packing of both weights, the
        /// slice and the concatenation) than the memory it saves.
        /// </summary>
        private Tensor MlpResidual(IBackend be, Tensor mid)
        {
            int t = mid.Dim(1) * mid.Dim(2), c = mid.Dim(3);
            if ((long)t * 4 * c * sizeof(float) <= MlpWholeHiddenBytes)
            {
                Tensor h;
                using (var normed = _norm2.Forward(be, mid)) h = _lin1.Forward(be, normed, Activation.Gelu);
                using (h) return _lin2.Forward(be, h, residual: mid);
            }
            // Views are disposed only after their last use: some backends free the data with any view.
            int half = (t + 1) / 2;
            using var tokens = be.Reshape(mid, 1, t, c);
            var parts = new Tensor[2];
            try
            {
                for (int i = 0; i < parts.Length; i++)
                {
                    using var rows = be.SliceRows(tokens, i * half, Math.Min(half, t - i * half));
                    Tensor h;
                    using (var normed = _norm2.Forward(be, rows))
                        h = _lin1.Forward(be, normed, Activation.Gelu);
                    using (h) parts[i] = _lin2.Forward(be, h, residual: rows);
                }
                using var joined = be.ConcatRows(parts);
                return be.Reshape(joined, mid.Shape);
            }
            finally
            {
                foreach (var part in parts) part?.Dispose();
            }
        }
    }
}
