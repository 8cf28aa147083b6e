using SamEngine.Backends;
using SamEngine.Config;
using SamEngine.Processing;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// The Hiera trunk (<c>image_encoder.trunk.*</c>, <c>sam2/modeling/backbones/hieradet.py</c>): a 7x7
/// stride-4 patch embedding, the background position embedding interpolated to the grid plus the
/// window embedding tiled over it, and the blocks of four stages, each stage halving the grid.
/// Tokens are NHWC throughout.
/// </summary>
internal sealed class Hiera
{
    private readonly HieraArchitecture _arch;
    private readonly int _grid;
    private readonly Parameter _patchWeight, _patchBias, _posEmbed, _posEmbedWindow;
    private readonly MultiScaleBlock[] _blocks;
    private readonly Lazy<float[]> _positions;

    public Hiera(WeightScope vb, SamArchitecture a)
    {
        _arch = a.Hiera!;
        _grid = a.ImgSize / HieraArchitecture.PatchStride;
        int c = _arch.EmbedDim, w0 = _arch.WindowSpec[0];
        _patchWeight = vb.Get("patch_embed.proj.weight", c, 3, 7, 7);
        _patchBias = vb.Get("patch_embed.proj.bias", c);
        _posEmbed = vb.Get("pos_embed", 1, c, _arch.WindowPosEmbedBkgSpatialSize[0], _arch.WindowPosEmbedBkgSpatialSize[1]);
        _posEmbedWindow = vb.Get("pos_embed_window", 1, c, w0, w0);
        _blocks = new MultiScaleBlock[_arch.Depth];
        for (int i = 0; i < _blocks.Length; i++) _blocks[i] = new MultiScaleBlock(vb.Push("blocks").Push(i), _arch, i);
        _positions = new(() => PositionEmbedding(_posEmbed, _posEmbedWindow, _grid, _grid));
    }

    /// <summary>
    /// The four stage outputs, finest first ([1, g/2^s, g/2^s, C·2^s] for the stride-4 grid g) of a
    /// normalised image [1, S, S, 3]. Taps: <c>trunk.pos_embed</c>, <c>trunk.patch_embed</c> (after the
    /// position embedding is added), <c>trunk.block_{i}</c>, <c>trunk.stage_{s}</c>, all NHWC.
    /// </summary>
    public Tensor[] Forward(IBackend be, Tensor image, Action<string, Tensor>? tap, Action<int, int>? progress)
    {
        var stages = new Tensor[HieraArchitecture.StageCount];
        var x = be.Conv2d(image, _patchWeight, _patchBias, stride: HieraArchitecture.PatchStride, padding: 3);
        var pos = be.FromHost(_positions.Value, 1, _grid, _grid, _arch.EmbedDim);
        tap?.Invoke("trunk.pos_embed", pos);
        using (var patches = x) x = be.Add(patches, pos);
        if (tap is null) pos.Dispose();
        tap?.Invoke("trunk.patch_embed", x);
        try
        {
            for (int i = 0, stage = 0; i < _blocks.Length; i++)
            {
                // A stage's output stays alive for the neck; any other input goes once consumed (unless tapped).
                bool keep = tap is not null || (stage > 0 && ReferenceEquals(stages[stage - 1], x));
                x = _blocks[i].Forward(be, x, consumeInput: !keep);
                tap?.Invoke($"trunk.block_{i}", x);
                if (i == _arch.StageEnd(stage))
                {
                    tap?.Invoke($"trunk.stage_{stage}", x);
                    stages[stage++] = x;
                }
                progress?.Invoke(i + 1, _blocks.Length);
            }
            return stages;
        }
        catch
        {
            foreach (var s in stages) s?.Dispose();
            throw;
        }
    }

    /// <summary>Matmul and conv FLOPs (2 x MAC) of the trunk of <paramref name="a"/>, as upstream computes them.</summary>
    public static double Flops(SamArchitecture a)
    {
        var h = a.Hiera!;
        int side = a.ImgSize / HieraArchitecture.PatchStride;
        double flops = 2.0 * side * side * 3 * 49 * h.EmbedDim;
        for (int i = 0; i < h.Depth; i++)
        {
            flops += MultiScaleBlock.Flops(h, i, side, side);
            if (h.PoolsQueries(i)) side /= 2;
        }
        return flops;
    }

    /// <summary>
    /// Upstream's <c>_get_pos_embed</c>: <paramref name="background"/> [1, C, bh, bw] resized bicubically
    /// to h x w, plus <paramref name="window"/> [1, C, w0, w0] tiled over it (h and w multiples of w0) →
    /// NHWC [h, w, C].
    /// </summary>
    internal static float[] PositionEmbedding(Parameter background, Parameter window, int h, int w)
    {
        int c = background.Shape[1], w0 = window.Shape[2];
        if (h % w0 != 0 || w % w0 != 0) throw new ArgumentException($"a {w0}x{w0} window embedding does not tile a {h}x{w} grid");
        var resized = Bicubic.Resize(background.ToFloat(), c, background.Shape[2], background.Shape[3], h, w);
        var win = window.ToFloat();
        var y = new float[(long)h * w * c];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    y[(i * w + j) * c + ch] = resized[(ch * h + i) * w + j] + win[(ch * w0 + i % w0) * w0 + j % w0];
        return y;
    }
}
