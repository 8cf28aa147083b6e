using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// SAM 1's neck (<c>image_encoder.neck</c>), which MobileSAM's TinyViT repeats: a 1x1 conv, LayerNorm2d,
/// a 3x3 conv, LayerNorm2d (no conv biases, eps 1e-6), from the encoder's NHWC tokens to the image
/// embedding in NCHW [1, D, g, g] as upstream returns it.
/// </summary>
internal sealed class ConvNeck
{
    private const float Eps = 1e-6f;
    private readonly Parameter _conv1, _conv2;
    private readonly LayerNorm _norm1, _norm2;
    private readonly int _outDim;

    /// <summary>The neck from <paramref name="inDim"/> to <paramref name="outDim"/> channels, weights under <paramref name="vb"/> (<c>neck</c>).</summary>
    public ConvNeck(WeightScope vb, int inDim, int outDim)
    {
        _outDim = outDim;
        _conv1 = vb.Get("0.weight", outDim, inDim, 1, 1);
        _norm1 = new LayerNorm(vb.Push(1), outDim, Eps);
        _conv2 = vb.Get("2.weight", outDim, outDim, 3, 3);
        _norm2 = new LayerNorm(vb.Push(3), outDim, Eps);
    }

    /// <summary>
    /// The embedding of tokens <paramref name="x"/> [1, g, g, C], which is disposed here unless a
    /// <paramref name="tap"/> is set (it then also receives <c>neck_conv1</c>, NHWC).
    /// </summary>
    public Tensor Forward(IBackend be, Tensor x, Action<string, Tensor>? tap)
    {
        // Each step's input is disposed once consumed, unless a tap has seen it (the tap may keep it).
        Tensor Step(Tensor input, Tensor output, bool tapped)
        {
            if (!tapped) input.Dispose();
            return output;
        }
        int g = x.Dim(1);
        bool tapping = tap is not null;
        x = Step(x, be.Conv2d(x, _conv1, null, stride: 1, padding: 0), tapped: tapping); // the last block, tapped by the encoder
        tap?.Invoke("neck_conv1", x);
        x = Step(x, _norm1.Forward(be, x), tapped: tapping);
        x = Step(x, be.Conv2d(x, _conv2, null, stride: 1, padding: 1), tapped: false);
        x = Step(x, _norm2.Forward(be, x), tapped: false);
        Tensor nchw;
        using (var tokens = be.Reshape(x, 1, g * g, _outDim)) nchw = be.Transpose(tokens);
        x.Dispose();
        using (nchw) return be.Reshape(nchw, 1, _outDim, g, g); // the view keeps the data
    }
}
