using ILGPU;
using ILGPU.Runtime;

namespace SamEngine.Kernels;

/// <summary>Geometry of a 2 x 2 / stride 2 transposed convolution in NHWC.</summary>
public struct ConvTransposeShape
{
    /// <summary>Input height, width, channels; output channels; 1 to apply GELU.</summary>
    public int H, W, Cin, Cout, Activation;
}

/// <summary>
/// The mask decoder's upscaling: 2 x 2 / stride 2 transposed conv, each output pixel reading exactly
/// one input pixel, so one thread per output element reduces over Cin directly. Conv2d itself is an
/// implicit GEMM (<see cref="GemmLauncher.Conv2d"/>).
/// </summary>
public static class ConvKernels
{
    /// <summary>y[b, oy, ox, co] = bias[co] + Σ_ci x[b, oy/2, ox/2, ci] W[ci, co, oy%2, ox%2]; i runs over y.</summary>
    public static void ConvTranspose2x2<TAct>(Index1D i, TAct x, ArrayView<ushort> weight, ArrayView<ushort> bias, TAct y, ConvTransposeShape s)
        where TAct : struct, IActivations<TAct>
    {
        int ow = 2 * s.W, oh = 2 * s.H;
        int co = i % s.Cout, pix = i / s.Cout, ox = pix % ow, rest = pix / ow, oy = rest % oh, b = rest / oh;
        int tap = (oy & 1) * 2 + (ox & 1);
        int src = ((b * s.H + (oy >> 1)) * s.W + (ox >> 1)) * s.Cin;
        float acc = DeviceMath.HalfToFloat(bias[co]);
        for (int ci = 0; ci < s.Cin; ci++)
            acc += x.Load(src + ci) * DeviceMath.HalfToFloat(weight[(ci * s.Cout + co) * 4 + tap]);
        y.Store(i, DeviceMath.Activate(acc, s.Activation));
    }
}

/// <summary>Loads the transposed-conv kernel for one activation format on one accelerator and launches it.</summary>
public sealed class ConvLauncher<TAct>(Accelerator accelerator) where TAct : struct, IActivations<TAct>
{
    private readonly Lazy<Action<Index1D, TAct, ArrayView<ushort>, ArrayView<ushort>, TAct, ConvTransposeShape>> _transpose =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, ArrayView<ushort>, ArrayView<ushort>, TAct, ConvTransposeShape>(ConvKernels.ConvTranspose2x2));

    /// <summary>x [B, H, W, Cin] → y [B, 2H, 2W, Cout].</summary>
    public void ConvTranspose2x2(TAct x, int batch, ConvTransposeShape s, ArrayView<ushort> weight, ArrayView<ushort> bias, TAct y) =>
        _transpose.Value(batch * 4 * s.H * s.W * s.Cout, x, weight, bias, y, s);
}
