using SamEngine.Backends;
using SamEngine.Config;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// The prompt encoder (<c>prompt_encoder.*</c>): random-Fourier positional encoding of points, box
/// corners and the dense grid, the learned point/label embeddings, and the mask downscaling convs.
/// Sparse embeddings are tiny and built on the host; the mask path runs on the backend.
/// </summary>
public sealed class PromptEncoder
{
    private const float Eps = 1e-6f;
    private readonly SamArchitecture _arch;
    private readonly Parameter _gaussianParam; // [2, D/2]
    private readonly float[] _gaussian; // the same, widened for the sparse prompts built on the host
    private readonly float[][] _pointEmbeddings; // 0: background, 1: foreground, 2: box top-left, 3: box bottom-right
    private readonly float[] _notAPoint;
    private readonly Parameter _noMaskEmbed;
    private readonly Parameter _down0W, _down0B, _down3W, _down3B, _down6W, _down6B;
    private readonly LayerNorm _down1, _down4;

    internal PromptEncoder(WeightScope vb, SamArchitecture a)
    {
        _arch = a;
        int d = a.PromptEmbedDim, m = a.MaskInChans;
        _gaussianParam = vb.Get("pe_layer.positional_encoding_gaussian_matrix", 2, d / 2);
        _gaussian = _gaussianParam.ToFloat();
        _pointEmbeddings = Enumerable.Range(0, 4).Select(i => vb.Push("point_embeddings").Push(i).Get("weight", 1, d).ToFloat()).ToArray();
        _notAPoint = vb.Get("not_a_point_embed.weight", 1, d).ToFloat();
        _noMaskEmbed = vb.Get("no_mask_embed.weight", 1, d);
        var ds = vb.Push("mask_downscaling");
        _down0W = ds.Get("0.weight", m / 4, 1, 2, 2);
        _down0B = ds.Get("0.bias", m / 4);
        _down1 = new LayerNorm(ds.Push(1), m / 4, Eps);
        _down3W = ds.Get("3.weight", m, m / 4, 2, 2);
        _down3B = ds.Get("3.bias", m);
        _down4 = new LayerNorm(ds.Push(4), m, Eps);
        _down6W = ds.Get("6.weight", d, m, 1, 1);
        _down6B = ds.Get("6.bias", d);
    }

    /// <summary>The no-mask embedding [D], added to every image position when there is no mask input.</summary>
    public Parameter NoMaskEmbed => _noMaskEmbed;

    /// <summary>Writes the Fourier features of normalised coordinates (x, y in [0, 1]) into <paramref name="dst"/> [D].</summary>
    private void Encode(float x, float y, Span<float> dst) => FourierFeatures.Encode(x, y, _gaussian, dst);

    /// <summary>
    /// The dense positional encoding of the embedding grid as tokens [g·g, D] (row-major over y, x),
    /// computed by the backend; <c>get_dense_pe()</c> is its transpose [1, D, g, g].
    /// </summary>
    public Tensor DensePe(IBackend be) => be.DensePositionalEncoding(_gaussianParam, _arch.GridSize);

    /// <summary>
    /// Sparse prompt embeddings [B, N, D] for B prompts. <paramref name="points"/> [B, P, 2] and
    /// <paramref name="labels"/> [B, P] (1 foreground, 0 background) in model input coordinates;
    /// <paramref name="boxes"/> [B, 4] (x0, y0, x1, y1). A padding point (label -1) is appended when
    /// there are points but no box, as upstream does.
    /// </summary>
    public float[] EmbedSparse(int batch, float[]? points, int[]? labels, int pointsPerPrompt, float[]? boxes, out int tokens)
    {
        int d = _arch.PromptEmbedDim;
        bool pad = boxes is null && points is not null;
        int np = points is null ? 0 : pointsPerPrompt + (pad ? 1 : 0);
        tokens = np + (boxes is null ? 0 : 2);
        var outp = new float[batch * tokens * d];
        float size = _arch.ImgSize;
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < np; i++)
            {
                var dst = outp.AsSpan((b * tokens + i) * d, d);
                int label = i < pointsPerPrompt ? labels![b * pointsPerPrompt + i] : -1;
                if (label == -1) dst.Clear();
                else
                {
                    float px = points![(b * pointsPerPrompt + i) * 2] + 0.5f, py = points[(b * pointsPerPrompt + i) * 2 + 1] + 0.5f;
                    Encode(px / size, py / size, dst);
                }
                Accumulate(dst, label == -1 ? _notAPoint : _pointEmbeddings[label]);
            }
            if (boxes is not null)
                for (int corner = 0; corner < 2; corner++)
                {
                    var dst = outp.AsSpan((b * tokens + np + corner) * d, d);
                    float bx = boxes[b * 4 + corner * 2] + 0.5f, by = boxes[b * 4 + corner * 2 + 1] + 0.5f;
                    Encode(bx / size, by / size, dst);
                    Accumulate(dst, _pointEmbeddings[2 + corner]);
                }
        }
        return outp;
    }

    private static void Accumulate(Span<float> dst, float[] add)
    {
        for (int j = 0; j < dst.Length; j++) dst[j] += add[j];
    }

    /// <summary>Dense embedding of mask inputs [B, 4g, 4g] (low-res logits) → tokens [B, g·g, D].</summary>
    public Tensor EmbedMask(IBackend be, Tensor masks)
    {
        int b = masks.Dim(0), s = _arch.LowResSize, g = _arch.GridSize;
        // Each step's input is disposed once consumed, so the backend reuses its buffer.
        static Tensor Step(Tensor input, Tensor output)
        {
            input.Dispose();
            return output;
        }
        var x = be.Reshape(masks, b, s, s, 1); // a view: disposing it leaves the caller's masks alive
        x = Step(x, be.Conv2d(x, _down0W, _down0B, stride: 2, padding: 0));
        x = Step(x, _down1.Forward(be, x));
        x = Step(x, be.Activate(x, Activation.Gelu));
        x = Step(x, be.Conv2d(x, _down3W, _down3B, stride: 2, padding: 0));
        x = Step(x, _down4.Forward(be, x));
        x = Step(x, be.Activate(x, Activation.Gelu));
        x = Step(x, be.Conv2d(x, _down6W, _down6B, stride: 1, padding: 0));
        return Step(x, be.Reshape(x, b, g * g, _arch.PromptEmbedDim)); // the view keeps the data
    }
}
