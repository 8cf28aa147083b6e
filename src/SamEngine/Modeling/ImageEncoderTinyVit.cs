using SamEngine.Backends;
using SamEngine.Config;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// MobileSAM's image encoder (<c>image_encoder.*</c>, <c>TinyViT</c> in
/// <c>mobile_sam/modeling/tiny_vit_sam.py</c>): a conv stem to stride 4, a stage of <see cref="MbConv"/>
/// blocks, stages of <see cref="TinyVitBlock"/>s, a <see cref="PatchMerging"/> after every stage but the
/// last, and SAM's <see cref="ConvNeck"/>. The classifier head TinyViT keeps (<c>norm_head</c>,
/// <c>head</c>) is never run and not loaded. Tokens are NHWC throughout; the output is NCHW [1, 256, g, g].
/// </summary>
public sealed class ImageEncoderTinyVit
{
    private readonly SamArchitecture _arch;
    private readonly ConvBn _stem1, _stem2;
    private readonly MbConv[] _mbConvs;
    private readonly TinyVitBlock[][] _stages;
    private readonly PatchMerging[] _merges;
    private readonly ConvNeck _neck;

    /// <summary>The encoder of <paramref name="a"/> (with <c>tiny_vit</c>), weights under <paramref name="vb"/> (scoped to <c>image_encoder</c>).</summary>
    internal ImageEncoderTinyVit(WeightScope vb, SamArchitecture a)
    {
        var t = a.TinyVit ?? throw new ArgumentException("a TinyViT image encoder needs an architecture with 'tiny_vit'");
        _arch = a;
        int[] dims = t.EmbedDims;
        var stem = vb.Push("patch_embed").Push("seq");
        _stem1 = new ConvBn(stem.Push(0), 3, dims[0] / 2, 3, stride: 2);
        _stem2 = new ConvBn(stem.Push(2), dims[0] / 2, dims[0], 3, stride: 2);
        var layers = vb.Push("layers");
        _mbConvs = Enumerable.Range(0, t.Depths[0]).Select(j => new MbConv(layers.Push(0).Push("blocks").Push(j), dims[0])).ToArray();
        _stages = new TinyVitBlock[t.StageCount][];
        _stages[0] = [];
        for (int s = 1; s < t.StageCount; s++)
            _stages[s] = Enumerable.Range(0, t.Depths[s])
                .Select(j => new TinyVitBlock(layers.Push(s).Push("blocks").Push(j), dims[s], t.NumHeads[s], t.WindowSizes[s])).ToArray();
        _merges = Enumerable.Range(0, t.StageCount - 1)
            .Select(s => new PatchMerging(layers.Push(s).Push("downsample"), dims[s], dims[s + 1], t.MergeStride(s))).ToArray();
        _neck = new ConvNeck(vb.Push("neck"), dims[^1], a.PromptEmbedDim);
    }

    /// <summary>
    /// Encodes a normalised, padded image NHWC [1, S, S, 3] into the embedding NCHW [1, 256, S/16, S/16].
    /// <paramref name="tap"/>, when set, receives every intermediate (NHWC; the tap may keep them):
    /// <c>patch_embed</c>, <c>layers.{s}.blocks.{j}</c> (and for TinyViT blocks <c>.attn</c>,
    /// <c>.local_conv</c>), <c>layers.{s}.downsample</c>, <c>neck_conv1</c>; <paramref name="progress"/>
    /// the number of blocks done.
    /// </summary>
    public Tensor Forward(IBackend be, Tensor image, Action<string, Tensor>? tap = null, Action<int, int>? progress = null)
    {
        bool keep = tap is not null;
        int total = _mbConvs.Length + _stages.Sum(s => s.Length), done = 0;
        Tensor x;
        using (var half = _stem1.Forward(be, image, Activation.Gelu)) x = _stem2.Forward(be, half);
        tap?.Invoke("patch_embed", x);
        for (int s = 0; s < _stages.Length; s++)
        {
            int blocks = s == 0 ? _mbConvs.Length : _stages[s].Length;
            for (int j = 0; j < blocks; j++)
            {
                string name = $"layers.{s}.blocks.{j}";
                Tensor next;
                if (s == 0)
                {
                    next = _mbConvs[j].Forward(be, x);
                    if (!keep) x.Dispose();
                }
                else next = _stages[s][j].Forward(be, x, consumeInput: !keep, name, tap);
                x = next;
                tap?.Invoke(name, x);
                progress?.Invoke(++done, total);
            }
            if (s < _merges.Length)
            {
                var merged = _merges[s].Forward(be, x);
                if (!keep) x.Dispose();
                x = merged;
                tap?.Invoke($"layers.{s}.downsample", x);
            }
        }
        return _neck.Forward(be, x, tap);
    }

    /// <summary>
    /// The encoder's conv and matmul FLOPs (2 x MAC) at <paramref name="a"/>'s input size, as upstream's
    /// modules compute them: every conv of the stem, the MBConvs and the merges, the TinyViT blocks
    /// (attention over the window-padded grid, see <see cref="TinyVitBlock.Flops"/>) and the neck.
    /// </summary>
    public static double Flops(SamArchitecture a)
    {
        var t = a.TinyVit!;
        int[] d = t.EmbedDims;
        int e = TinyVitArchitecture.MbConvExpandRatio;
        static double Conv(double outPixels, double cin, double cout, int k) => 2 * outPixels * cin * cout * k * k;
        double side = a.ImgSize / 2;
        double flops = Conv(side * side, 3, d[0] / 2, 3);
        side = t.StageGrid(0, a.ImgSize);
        flops += Conv(side * side, d[0] / 2, d[0], 3);
        flops += t.Depths[0] * (Conv(side * side, d[0], e * d[0], 1) + 2 * side * side * e * d[0] * 9 + Conv(side * side, e * d[0], d[0], 1));
        for (int s = 0; s < t.StageCount; s++)
        {
            side = t.StageGrid(s, a.ImgSize);
            if (s > 0) flops += t.Depths[s] * TinyVitBlock.Flops(d[s], t.WindowSizes[s], (int)side, (int)side);
            if (s == t.StageCount - 1) break;
            double next = t.StageGrid(s + 1, a.ImgSize);
            flops += Conv(side * side, d[s], d[s + 1], 1) + 2 * next * next * d[s + 1] * 9 + Conv(next * next, d[s + 1], d[s + 1], 1);
        }
        side = a.GridSize;
        return flops + Conv(side * side, d[^1], a.PromptEmbedDim, 1) + Conv(side * side, a.PromptEmbedDim, a.PromptEmbedDim, 3);
    }
}
