using SamEngine.Backends;
using SamEngine.Config;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// One Hiera block (<c>MultiScaleBlock</c> with its <c>MultiScaleAttention</c>, <c>hieradet.py</c>):
/// x + Attn(LN(x)), then + MLP(LN(·)). At a stage transition it widens the channels (the shortcut is
/// <c>proj</c> of the normed input, max-pooled 2x2) and pools its queries, which halves the grid.
/// Tokens are NHWC [1, H, W, C].
/// </summary>
internal sealed class MultiScaleBlock
{
    private const float Eps = 1e-6f;
    private readonly LayerNorm _norm1, _norm2;
    private readonly Linear _qkv, _attnProj, _mlp0, _mlp1;
    private readonly Linear? _proj;
    private readonly int _heads, _window;
    private readonly bool _poolQuery;

    /// <summary>Block <paramref name="index"/> of the trunk <paramref name="a"/>, weights under <paramref name="vb"/> (<c>blocks.{i}</c>).</summary>
    public MultiScaleBlock(WeightScope vb, HieraArchitecture a, int index)
    {
        int stage = a.StageOf(index), dimOut = a.StageDim(stage);
        _poolQuery = a.PoolsQueries(index);
        int dim = _poolQuery ? a.StageDim(stage - 1) : dimOut;
        _heads = a.StageHeads(stage);
        _window = a.WindowOf(index);
        _norm1 = new LayerNorm(vb.Push("norm1"), dim, Eps);
        var attn = vb.Push("attn");
        _qkv = new Linear(attn.Push("qkv"), dim, 3 * dimOut);
        _attnProj = new Linear(attn.Push("proj"), dimOut, dimOut);
        _norm2 = new LayerNorm(vb.Push("norm2"), dimOut, Eps);
        var mlp = vb.Push("mlp").Push("layers");
        _mlp0 = new Linear(mlp.Push(0), dimOut, 4 * dimOut);
        _mlp1 = new Linear(mlp.Push(1), 4 * dimOut, dimOut);
        if (dim != dimOut) _proj = new Linear(vb.Push("proj"), dim, dimOut);
    }

    /// <summary>
    /// The block's output; <paramref name="consumeInput"/> disposes <paramref name="x"/> as soon as it is
    /// used. Each intermediate is disposed once consumed; the residual adds are fused into the
    /// projections before them. <paramref name="maxQkvPerBand"/> bounds the qkv values held at once
    /// (see <see cref="Attention"/>).
    /// </summary>
    public Tensor Forward(IBackend be, Tensor x, bool consumeInput, int maxQkvPerBand = DefaultMaxQkvPerBand)
    {
        Tensor attn, mid, shortcut = x;
        using (var normed = _norm1.Forward(be, x))
        {
            if (_proj is not null)
            {
                shortcut = _proj.Forward(be, normed);
                if (_poolQuery)
                    using (var wide = shortcut) shortcut = be.MaxPool2x2(wide);
            }
            attn = Attention(be, normed, maxQkvPerBand);
        }
        using (attn) mid = _attnProj.Forward(be, attn, residual: shortcut);
        if (!ReferenceEquals(shortcut, x)) shortcut.Dispose();
        if (consumeInput) x.Dispose();
        Tensor hidden;
        using (mid)
        {
            using (var normed = _norm2.Forward(be, mid)) hidden = _mlp0.Forward(be, normed, Activation.Gelu);
            using (hidden) return _mlp1.Forward(be, hidden, residual: mid);
        }
    }

    /// <summary>Most qkv values one band of a windowed block holds at once: 32 MB of floats.</summary>
    public const int DefaultMaxQkvPerBand = 1 << 23;

    /// <summary>
    /// The attention of the normed tokens [1, H, W, C] before its output projection, computed over bands
    /// of whole window rows: a window never crosses a band, so each band's result is those rows of the
    /// whole, and the full-resolution qkv [H, W, 3C'] (226 MB in hiera_l's first pooling block) is never
    /// held at once. A global block, or a grid whose qkv fits in one band, is one band.
    /// </summary>
    private Tensor Attention(IBackend be, Tensor normed, int maxQkvPerBand)
    {
        int h = normed.Dim(1), w = normed.Dim(2), c = normed.Dim(3);
        int bandRows = BandRows(h, w, qkvWidth: _qkv.Weight.Shape[0], _window, maxQkvPerBand);
        if (bandRows >= h)
        {
            using var qkv = _qkv.Forward(be, normed);
            return be.HieraAttention(qkv, _heads, _window, _poolQuery, _qkv.Bias!);
        }
        var parts = new List<Tensor>();
        int outW = 0, outC = 0;
        try
        {
            using var rows = be.Reshape(normed, 1, h, w * c);
            for (int r0 = 0; r0 < h; r0 += bandRows)
            {
                int count = Math.Min(bandRows, h - r0);
                using var slice = be.SliceRows(rows, r0, count);
                using var band = be.Reshape(slice, 1, count, w, c);
                using var qkv = _qkv.Forward(be, band);
                using var attn = be.HieraAttention(qkv, _heads, _window, _poolQuery, _qkv.Bias!); // [1, h', w', C']
                (outW, outC) = (attn.Dim(2), attn.Dim(3));
                parts.Add(be.Reshape(attn, 1, attn.Dim(1), outW * outC));
            }
            using var joined = be.ConcatRows([.. parts]);
            return be.Reshape(joined, 1, joined.Dim(1), outW, outC);
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
    }

    /// <summary>
    /// Rows of the <paramref name="h"/> x <paramref name="w"/> grid per band: whole windows of
    /// <paramref name="window"/> rows (0: global attention, one band), as many as keep a band's qkv
    /// (<paramref name="qkvWidth"/> values per token) within <paramref name="maxQkvPerBand"/>, at least one.
    /// </summary>
    internal static int BandRows(int h, int w, int qkvWidth, int window, int maxQkvPerBand)
    {
        if (window <= 0) return h;
        long perWindowRow = (long)window * w * qkvWidth;
        return (int)Math.Min(h, window * Math.Max(1, maxQkvPerBand / perWindowRow));
    }

    /// <summary>
    /// Matmul FLOPs (2 x MAC) of block <paramref name="index"/> of <paramref name="a"/> on an <paramref name="h"/> x <paramref name="w"/> input grid,
    /// as upstream computes them: qkv over the zero-padded windows, the shortcut projection, the two
    /// attention products of each window's (pooled) queries against its keys and the output projection
    /// (still windowed, padding included), the MLP on the output grid.
    /// </summary>
    public static double Flops(HieraArchitecture a, int index, int h, int w)
    {
        int stage = a.StageOf(index), window = a.WindowOf(index);
        bool pool = a.PoolsQueries(index);
        double c = a.StageDim(stage), dim = pool ? a.StageDim(stage - 1) : c;
        int wh = window > 0 ? window : h, ww = window > 0 ? window : w;
        double windows = Math.Ceiling((double)h / wh) * Math.Ceiling((double)w / ww), keys = (double)wh * ww;
        double queries = pool ? (wh / 2) * (ww / 2) : keys;
        double outTokens = pool ? (h / 2) * (w / 2) : (double)h * w;
        double macs = windows * (keys * dim * 3 * c + 2 * queries * keys * c + queries * c * c);
        if (dim != c) macs += (double)h * w * dim * c;
        macs += outTokens * 8 * c * c;
        return 2 * macs;
    }
}
