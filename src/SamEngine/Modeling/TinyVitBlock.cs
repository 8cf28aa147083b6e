using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// One TinyViT block (<c>TinyViTBlock</c> with its <c>Attention</c> and <c>Mlp</c>, <c>tiny_vit_sam.py</c>):
/// x + Attn(x) over windows (the LayerNorm is inside the attention, after the zero padding), a 3x3
/// depthwise conv with BatchNorm, then + MLP(LN(·)). NHWC [1, H, W, C].
/// </summary>
internal sealed class TinyVitBlock
{
    private const float Eps = 1e-5f; // nn.LayerNorm's default
    private readonly LayerNorm _attnNorm, _mlpNorm;
    private readonly Linear _qkv, _proj, _fc1, _fc2;
    private readonly Parameter _attentionBiases;
    private readonly ConvBn _localConv;
    private readonly int _heads, _window;

    public TinyVitBlock(WeightScope vb, int dim, int heads, int window)
    {
        (_heads, _window) = (heads, window);
        var attn = vb.Push("attn");
        _attnNorm = new LayerNorm(attn.Push("norm"), dim, Eps);
        _qkv = new Linear(attn.Push("qkv"), dim, 3 * dim);
        _proj = new Linear(attn.Push("proj"), dim, dim);
        _attentionBiases = attn.Get("attention_biases", heads, window * window);
        var mlp = vb.Push("mlp");
        _mlpNorm = new LayerNorm(mlp.Push("norm"), dim, Eps);
        _fc1 = new Linear(mlp.Push("fc1"), dim, Config.TinyVitArchitecture.MlpRatio * dim);
        _fc2 = new Linear(mlp.Push("fc2"), Config.TinyVitArchitecture.MlpRatio * dim, dim);
        _localConv = new ConvBn(vb.Push("local_conv"), 0, dim, Config.TinyVitArchitecture.LocalConvSize, depthwise: true);
    }

    /// <summary>
    /// The block's output; <paramref name="consumeInput"/> disposes <paramref name="x"/> once used.
    /// <paramref name="tap"/> receives <c>{name}.attn</c> (after the attention's residual) and
    /// <c>{name}.local_conv</c>.
    /// </summary>
    public Tensor Forward(IBackend be, Tensor x, bool consumeInput, string name, Action<string, Tensor>? tap)
    {
        Tensor qkv, padQkv, attn, mid;
        using (var normed = _attnNorm.Forward(be, x)) qkv = _qkv.Forward(be, normed);
        // A padded token is zero before the attention's LayerNorm, which maps it to the norm's bias.
        using (var bias = be.FromParameter(_attnNorm.Bias))
        using (var row = be.Reshape(bias, 1, bias.Length))
            padQkv = _qkv.Forward(be, row);
        using (qkv)
        using (padQkv)
            attn = be.TinyVitAttention(qkv, padQkv, _heads, _window, _attentionBiases);
        using (attn) mid = _proj.Forward(be, attn, residual: x);
        if (consumeInput) x.Dispose();
        tap?.Invoke($"{name}.attn", mid);
        var local = _localConv.Forward(be, mid);
        if (tap is null) mid.Dispose();
        tap?.Invoke($"{name}.local_conv", local);
        Tensor hidden;
        using (var normed = _mlpNorm.Forward(be, local)) hidden = _fc1.Forward(be, normed, Activation.Gelu);
        using (hidden)
        {
            var y = _fc2.Forward(be, hidden, residual: local);
            if (tap is null) local.Dispose();
            return y;
        }
    }

    /// <summary>
    /// Matmul and conv FLOPs (2 x MAC) of a block of width <paramref name="c"/> on an
    /// <paramref name="h"/> x <paramref name="w"/> grid: qkv, both attention products and the output
    /// projection over the window-padded grid (upstream's attention runs on the padded windows), the
    /// depthwise conv and the MLP on the real tokens.
    /// </summary>
    public static double Flops(int c, int window, int h, int w)
    {
        double padded = Math.Ceiling((double)h / window) * window * Math.Ceiling((double)w / window) * window;
        double tokens = (double)h * w, t = (double)window * window;
        double macs = padded * (3 * c * c + 2 * t * c + c * c) + tokens * (9 * c + 2 * Config.TinyVitArchitecture.MlpRatio * c * c);
        return 2 * macs;
    }
}
