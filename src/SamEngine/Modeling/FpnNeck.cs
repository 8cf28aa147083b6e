using SamEngine.Backends;
using SamEngine.Config;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// SAM 2's FPN neck (<c>image_encoder.neck.*</c>, <c>FpnNeck</c> in <c>image_encoder.py</c>): a 1x1
/// lateral conv per trunk stage to d channels, and on the top-down levels the coarser level's output
/// upsampled 2x (nearest) added on. <c>convs</c> are indexed from the coarsest stage
/// (<c>convs.{n-i}</c> serves stage i), as upstream's backbone_channel_list runs.
/// </summary>
internal sealed class FpnNeck
{
    private readonly Parameter[] _weights, _biases;
    private readonly int[] _topDownLevels;

    public FpnNeck(WeightScope vb, SamArchitecture a)
    {
        var h = a.Hiera!;
        int n = HieraArchitecture.StageCount, d = a.PromptEmbedDim;
        _weights = new Parameter[n];
        _biases = new Parameter[n];
        for (int k = 0; k < n; k++)
        {
            var conv = vb.Push("convs").Push(k).Push("conv");
            int channels = h.StageDim(n - 1 - k);
            _weights[k] = conv.Get("weight", d, channels, 1, 1);
            _biases[k] = conv.Get("bias", d);
        }
        _topDownLevels = h.FpnTopDownLevels;
    }

    /// <summary>
    /// The levels of the stage outputs <paramref name="xs"/> (finest first, NHWC), each [1, h_i, w_i, d],
    /// finest first, the coarsest <paramref name="scalp"/> dropped (computed, as the next level may take
    /// it top-down, then disposed). <paramref name="consumeInputs"/> disposes each stage output once
    /// its lateral conv has read it. Taps <c>neck.level_{i}</c> for the levels kept.
    /// </summary>
    public Tensor[] Forward(IBackend be, Tensor[] xs, int scalp, bool consumeInputs, Action<string, Tensor>? tap)
    {
        int n = _weights.Length - 1;
        var outs = new Tensor[n + 1];
        try
        {
            Tensor? prev = null;
            for (int i = n; i >= 0; i--)
            {
                var lateral = be.Conv2d(xs[i], _weights[n - i], _biases[n - i], stride: 1, padding: 0);
                if (consumeInputs) xs[i].Dispose();
                if (prev is not null && _topDownLevels.Contains(i))
                    using (lateral) outs[i] = be.AddUpsampled2x(lateral, prev);
                else outs[i] = lateral;
                prev = outs[i];
            }
            for (int i = outs.Length - scalp; i < outs.Length; i++) outs[i].Dispose();
            var kept = outs[..^scalp];
            for (int i = 0; i < kept.Length; i++) tap?.Invoke($"neck.level_{i}", kept[i]);
            return kept;
        }
        catch
        {
            foreach (var o in outs) o?.Dispose();
            throw;
        }
    }

    /// <summary>Conv FLOPs (2 x MAC) of the lateral convs of <paramref name="a"/>, the dropped level's included.</summary>
    public static double Flops(SamArchitecture a)
    {
        int grid = a.ImgSize / HieraArchitecture.PatchStride;
        double macs = 0;
        for (int s = 0; s < HieraArchitecture.StageCount; s++)
        {
            int side = grid >> s;
            macs += (double)side * side * a.Hiera!.StageDim(s) * a.PromptEmbedDim;
        }
        return 2 * macs;
    }
}
