using ILGPU;
using ILGPU.Runtime;

namespace SamEngine.Kernels;

/// <summary>
/// One bilinear pass of <c>postprocess_masks</c> (torch's align_corners=False), resizing inH x inW
/// planes as if to scaleH x scaleW but producing only the top-left outH x outW of the result, which is
/// how the crop to the resized image is folded into the upscale.
/// </summary>
public struct ResizeShape
{
    /// <summary>Source size, size that sets the scale, produced size.</summary>
    public int InH, InW, ScaleH, ScaleW, OutH, OutW;
}

/// <summary>Mask post-processing on the device: bilinear upscale with crop, resize to the original size, threshold.</summary>
public static class PostprocessKernels
{
    /// <summary>i runs over planes x OutH x OutW.</summary>
    public static void Resize<TAct>(Index1D i, TAct src, TAct dst, ResizeShape s) where TAct : struct, IActivations<TAct>
    {
        int x = i % s.OutW, rest = i / s.OutW, y = rest % s.OutH, plane = rest / s.OutH;
        SourceIndex(y, s.InH, s.ScaleH, out int y0, out int y1, out float ly);
        SourceIndex(x, s.InW, s.ScaleW, out int x0, out int x1, out float lx);
        int o = plane * s.InH * s.InW;
        // x first within rows y0 and y1, then y: the order torch rounds in.
        float t0 = src.Load(o + y0 * s.InW + x0) * (1f - lx) + src.Load(o + y0 * s.InW + x1) * lx;
        float t1 = src.Load(o + y1 * s.InW + x0) * (1f - lx) + src.Load(o + y1 * s.InW + x1) * lx;
        dst.Store(i, t0 * (1f - ly) + t1 * ly);
    }

    private static void SourceIndex(int i, int inSize, int outSize, out int i0, out int i1, out float l1)
    {
        float scale = outSize > 1 ? (float)inSize / outSize : 0f;
        float src = scale * (i + 0.5f) - 0.5f;
        if (src < 0f) src = 0f;
        i0 = (int)src;
        i1 = i0 < inSize - 1 ? i0 + 1 : i0;
        l1 = src - i0;
        if (l1 > 1f) l1 = 1f;
    }

    /// <summary>mask[i] = logits[i] &gt; 0.</summary>
    public static void Threshold<TAct>(Index1D i, TAct logits, ArrayView<byte> mask) where TAct : struct, IActivations<TAct> =>
        mask[i] = logits.Load(i) > 0f ? (byte)1 : (byte)0;
}

/// <summary>Loads the post-processing kernels for one activation format on one accelerator and runs <c>postprocess_masks</c>.</summary>
public sealed class PostprocessLauncher<TAct>(Accelerator accelerator) where TAct : struct, IActivations<TAct>
{
    private readonly Lazy<Action<Index1D, TAct, TAct, ResizeShape>> _resize =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, TAct, ResizeShape>(PostprocessKernels.Resize));
    private readonly Lazy<Action<Index1D, TAct, ArrayView<byte>>> _threshold =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, ArrayView<byte>>(PostprocessKernels.Threshold));

    /// <summary>One resize pass over <paramref name="planes"/> planes.</summary>
    public void Resize(TAct src, int planes, ResizeShape s, TAct dst) => _resize.Value(planes * s.OutH * s.OutW, src, dst, s);

    /// <summary>Binary mask of <paramref name="length"/> logits.</summary>
    public void Threshold(TAct logits, int length, ArrayView<byte> mask) => _threshold.Value(length, logits, mask);
}
