using ILGPU;
using ILGPU.Runtime;

namespace SamEngine.Kernels;

/// <summary>Geometry and epilogue of a 2 x 2 / stride 2 transposed convolution in NHWC.</summary>
public struct ConvTransposeShape
{
    /// <summary>Input height, width, channels; output channels; activation code (see <see cref="DeviceMath.Activate"/>).</summary>
    public int H, W, Cin, Cout, Activation;
    /// <summary>Epsilon of the fused LayerNorm2d (<see cref="ConvKernels.ConvTranspose2x2Norm{TAct}"/> only).</summary>
    public float Eps;
    /// <summary>
    /// Elements of one image of the skip added before the norm / activation (SAM 2.1's high-resolution
    /// features, [1, 2H, 2W, Cout] shared by the batch), 0 for none.
    /// </summary>
    public int SkipLength;
}

/// <summary>
/// The mask decoder's upscaling: 2 x 2 / stride 2 transposed conv, each output pixel reading exactly
/// one input pixel, so a thread reduces over Cin directly: one thread per output element when only an
/// activation follows, one per output pixel when a LayerNorm2d over its channels follows (the pixel's
/// channels stay in registers / local memory for the fp32 statistics). Conv2d itself is an implicit
/// GEMM (<see cref="GemmLauncher{TAct}.Conv2d"/>).
/// </summary>
public static class ConvKernels
{
    /// <summary>Most output channels the fused LayerNorm2d variant holds per pixel (SAM's upscaling has D/4 = 64).</summary>
    public const int MaxNormChannels = 128;

    /// <summary>
    /// y[b, oy, ox, co] = act(bias[co] + Σ_ci x[b, oy/2, ox/2, ci] W[ci, co, oy%2, ox%2] (+ skip[0, oy, ox, co]));
    /// i runs over y.
    /// </summary>
    public static void ConvTranspose2x2<TAct>(Index1D i, TAct x, ArrayView<ushort> weight, ArrayView<ushort> bias, TAct skip, TAct y, ConvTransposeShape s)
        where TAct : struct, IActivations<TAct>
    {
        int ow = 2 * s.W, oh = 2 * s.H;
        int co = i % s.Cout, pix = i / s.Cout, ox = pix % ow, rest = pix / ow, oy = rest % oh, b = rest / oh;
        int tap = (oy & 1) * 2 + (ox & 1);
        int src = ((b * s.H + (oy >> 1)) * s.W + (ox >> 1)) * s.Cin;
        float acc = DeviceMath.HalfToFloat(bias[co]);
        for (int ci = 0; ci < s.Cin; ci++)
            acc += x.Load(src + ci) * DeviceMath.HalfToFloat(weight[(ci * s.Cout + co) * 4 + tap]);
        if (s.SkipLength > 0) acc += skip.Load(i % s.SkipLength);
        y.Store(i, DeviceMath.Activate(acc, s.Activation));
    }

    /// <summary>
    /// act(LayerNorm2d(convT(x) + bias (+ skip))) for output pixel i: its Cout values, then their mean and biased
    /// variance in fp32, then the normalised, scaled and activated values.
    /// </summary>
    public static void ConvTranspose2x2Norm<TAct>(Index1D i, TAct x, ArrayView<ushort> weight, ArrayView<ushort> bias,
        ArrayView<ushort> gamma, ArrayView<ushort> beta, TAct skip, TAct y, ConvTransposeShape s)
        where TAct : struct, IActivations<TAct>
    {
        var v = LocalMemory.Allocate<float>(MaxNormChannels);
        int ow = 2 * s.W, oh = 2 * s.H;
        int ox = i % ow, rest = i / ow, oy = rest % oh, b = rest / oh;
        int tap = (oy & 1) * 2 + (ox & 1);
        int src = ((b * s.H + (oy >> 1)) * s.W + (ox >> 1)) * s.Cin;
        float sum = 0f;
        int o = i * s.Cout;
        for (int co = 0; co < s.Cout; co++)
        {
            float acc = DeviceMath.HalfToFloat(bias[co]);
            for (int ci = 0; ci < s.Cin; ci++)
                acc += x.Load(src + ci) * DeviceMath.HalfToFloat(weight[(ci * s.Cout + co) * 4 + tap]);
            if (s.SkipLength > 0) acc += skip.Load((o + co) % s.SkipLength);
            v[co] = acc;
            sum += acc;
        }
        float mean = sum / s.Cout, sq = 0f;
        for (int co = 0; co < s.Cout; co++)
        {
            float d = v[co] - mean;
            sq += d * d;
        }
        float rstd = ILGPU.Algorithms.XMath.Rsqrt(sq / s.Cout + s.Eps);
        for (int co = 0; co < s.Cout; co++)
            y.Store(o + co, DeviceMath.Activate((v[co] - mean) * rstd * DeviceMath.HalfToFloat(gamma[co]) + DeviceMath.HalfToFloat(beta[co]), s.Activation));
    }
}

/// <summary>Loads the transposed-conv kernels for one activation format on one accelerator and launches the one the epilogue needs.</summary>
public sealed class ConvLauncher<TAct>(Accelerator accelerator) where TAct : struct, IActivations<TAct>
{
    private readonly Lazy<Action<Index1D, TAct, ArrayView<ushort>, ArrayView<ushort>, TAct, TAct, ConvTransposeShape>> _transpose =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, ArrayView<ushort>, ArrayView<ushort>, TAct, TAct, ConvTransposeShape>(ConvKernels.ConvTranspose2x2));
    private readonly Lazy<Action<Index1D, TAct, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, TAct, TAct, ConvTransposeShape>> _transposeNorm =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, TAct, TAct, ConvTransposeShape>(
            ConvKernels.ConvTranspose2x2Norm));

    /// <summary>
    /// x [B, H, W, Cin] → y [B, 2H, 2W, Cout] = act(convT(x) + bias (+ <paramref name="skip"/> [1, 2H, 2W, Cout]
    /// when <see cref="ConvTransposeShape.SkipLength"/> is set; otherwise it is not read)).
    /// </summary>
    public void ConvTranspose2x2(TAct x, int batch, ConvTransposeShape s, ArrayView<ushort> weight, ArrayView<ushort> bias, TAct skip, TAct y)
    {
        int n = batch * 4 * s.H * s.W * s.Cout;
        if (n > 0) _transpose.Value(n, x, weight, bias, skip, y, s);
    }

    /// <summary>
    /// x [B, H, W, Cin] → y [B, 2H, 2W, Cout] = act(LayerNorm2d(convT(x) + bias (+ <paramref name="skip"/>, as in
    /// <see cref="ConvTranspose2x2"/>))) with fp16 gamma, beta [Cout].
    /// </summary>
    public void ConvTranspose2x2Norm(TAct x, int batch, ConvTransposeShape s, ArrayView<ushort> weight, ArrayView<ushort> bias,
        ArrayView<ushort> gamma, ArrayView<ushort> beta, TAct skip, TAct y)
    {
        if (s.Cout > ConvKernels.MaxNormChannels)
            throw new NotSupportedException($"a LayerNorm2d fused into a transposed conv holds at most {ConvKernels.MaxNormChannels} channels, not {s.Cout}");
        int pixels = batch * 4 * s.H * s.W;
        if (pixels > 0) _transposeNorm.Value(pixels, x, weight, bias, gamma, beta, skip, y, s);
    }
}
