using SamEngine.Backends;
using SamEngine.Config;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// SAM 2.x's image encoder (<c>image_encoder.*</c>, <c>ImageEncoder</c> in
/// <c>sam2/modeling/backbones/image_encoder.py</c>): the <see cref="Hiera"/> trunk, then the
/// <see cref="FpnNeck"/>, whose lowest-resolution level is dropped (scalp 1). The image and every
/// level are NHWC.
/// </summary>
public sealed class ImageEncoderHiera
{
    private readonly SamArchitecture _arch;
    private readonly Hiera _trunk;
    private readonly FpnNeck _neck;

    /// <summary>The encoder of <paramref name="a"/> (family sam2), weights under <paramref name="vb"/> (scoped to <c>image_encoder</c>).</summary>
    internal ImageEncoderHiera(WeightScope vb, SamArchitecture a)
    {
        if (a.Family != ModelFamily.Sam2 || a.Hiera is null) throw new ArgumentException("a Hiera image encoder needs a sam2 architecture");
        _arch = a;
        _trunk = new Hiera(vb.Push("trunk"), a);
        _neck = new FpnNeck(vb.Push("neck"), a);
    }

    /// <summary>
    /// Encodes a normalised image NHWC [1, S, S, 3] (S = img_size) into the FPN levels kept after the
    /// scalp, finest first: [1, 4g, 4g, d], [1, 2g, 2g, d], [1, g, g, d] (g = grid size, d =
    /// prompt_embed_dim). <paramref name="tap"/>, when set, receives the intermediates (NHWC, the tap
    /// may keep them): <c>trunk.pos_embed</c>, <c>trunk.patch_embed</c>, <c>trunk.block_{i}</c>,
    /// <c>trunk.stage_{k}</c>, <c>neck.level_{k}</c> and, computed only then, <c>neck.pos_{k}</c>;
    /// <paramref name="progress"/> the number of trunk blocks done.
    /// </summary>
    public Tensor[] Forward(IBackend be, Tensor image, Action<string, Tensor>? tap = null, Action<int, int>? progress = null)
    {
        var stages = _trunk.Forward(be, image, tap, progress);
        var levels = _neck.Forward(be, stages, HieraArchitecture.Scalp, consumeInputs: tap is null, tap);
        if (tap is not null)
            for (int k = 0; k < levels.Length; k++)
            {
                int h = levels[k].Dim(1), w = levels[k].Dim(2), d = levels[k].Dim(3);
                tap($"neck.pos_{k}", be.FromHost(PositionEmbeddingSine.Encode(d, h, w), 1, h, w, d));
            }
        return levels;
    }

    /// <summary>
    /// The encoder's matmul and conv FLOPs (2 x MAC) as upstream's modules compute them: the patch
    /// embedding; per block the qkv and output projections and both attention products over the
    /// zero-padded windows (pooled queries at stage transitions), the shortcut projection, the MLP;
    /// the neck's lateral convs, the dropped level's included.
    /// </summary>
    public static double Flops(SamArchitecture a) => Hiera.Flops(a) + FpnNeck.Flops(a);
}
