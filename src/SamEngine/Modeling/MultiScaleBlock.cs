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
    /// projections before them.
    /// </summary>
    public Tensor Forward(IBackend be, Tensor x, bool consumeInput)
    {
        Tensor qkv, attn, mid, shortcut = x;
        using (var normed = _norm1.Forward(be, x))
        {
            if (_proj is not null)
            {
                shortcut = _proj.Forward(be, normed);
                if (_poolQuery)
                    using (var wide = shortcut) shortcut = be.MaxPool2x2(wide);
            }
            qkv = _qkv.Forward(be, normed);
        }
        using (qkv) attn = be.HieraAttention(qkv, _heads, _window, _poolQuery, _qkv.Bias!);
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
