using SamEngine.Backends;
using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Tests.Kernels;

/// <summary>Conv2d as an implicit GEMM (patch embedding, neck 1x1 / 3x3, mask downscaling) and the 2x2 transposed conv.</summary>
public abstract class ConvKernelTests : KernelTestBase
{
    [AcceleratorFact]
    public void PatchEmbeddingStrideEqualsKernel()
    {
        var (r, d) = Input(1, 1, 12, 16, 3);
        var w = Param("patch_embed.proj.weight", 10, 3, 4, 4);
        var b = Param("patch_embed.proj.bias", 10);
        AssertClose("patch embed", Reference.Conv2d(r, w, b, 4, 0), Device.Conv2d(d, w, b, 4, 0));
    }

    [AcceleratorFact]
    public void NeckConvs3x3Padded1x1WithoutBias()
    {
        var (r, d) = Input(2, 2, 9, 11, 5);
        var w3 = Param("neck.2.weight", 7, 5, 3, 3);
        AssertClose("conv 3x3", Reference.Conv2d(r, w3, null, 1, 1), Device.Conv2d(d, w3, null, 1, 1));
        var w1 = Param("neck.0.weight", 70, 5, 1, 1);
        AssertClose("conv 1x1", Reference.Conv2d(r, w1, null, 1, 0), Device.Conv2d(d, w1, null, 1, 0));
    }

    [AcceleratorFact]
    public void MaskDownscalingStride2()
    {
        var (r, d) = Input(3, 2, 10, 10, 1);
        var w = Param("mask_downscaling.0.weight", 4, 1, 2, 2);
        var b = Param("mask_downscaling.0.bias", 4);
        AssertClose("downscale", Reference.Conv2d(r, w, b, 2, 0), Device.Conv2d(d, w, b, 2, 0));
    }

    [AcceleratorFact]
    public void TransposedConv2x2()
    {
        var (r, d) = Input(4, 2, 3, 5, 6);
        var w = Param("output_upscaling.0.weight", 6, 4, 2, 2);
        var b = Param("output_upscaling.0.bias", 4);
        AssertClose("conv transpose", Reference.ConvTranspose2x2(r, w, b), Device.ConvTranspose2x2(d, w, b));
    }

    [AcceleratorFact]
    public void TransposedConv2x2WithLayerNorm2dAndGelu()
    {
        // The decoder's upscaling, against the unfused ops: ConvT → LayerNorm2d → GELU (odd Cout), then ConvT → GELU.
        var (r, d) = Input(5, 2, 3, 5, 6);
        var w0 = Param("output_upscaling.0.weight", 6, 5, 2, 2);
        var b0 = Param("output_upscaling.0.bias", 5);
        var norm = new ChannelNorm(Param("output_upscaling.1.weight", 5), Param("output_upscaling.1.bias", 5), 1e-6f);
        var expected = Reference.Activate(Reference.LayerNorm(Reference.ConvTranspose2x2(r, w0, b0), norm.Weight, norm.Bias, norm.Eps), Activation.Gelu);
        var up = Device.ConvTranspose2x2(d, w0, b0, norm, Activation.Gelu);
        AssertClose("conv transpose + layernorm2d + gelu", expected, up);
        var w3 = Param("output_upscaling.3.weight", 5, 3, 2, 2);
        var b3 = Param("output_upscaling.3.bias", 3);
        var upAsStored = Reference.FromHost(Device.ToHost(up), up.Shape); // the second step starts from what the device holds
        AssertClose("conv transpose + gelu", Reference.Activate(Reference.ConvTranspose2x2(upAsStored, w3, b3), Activation.Gelu),
            Device.ConvTranspose2x2(up, w3, b3, act: Activation.Gelu));
    }

    [AcceleratorFact]
    public void UpscaledMaskLogitsAgainstTheComposedOps()
    {
        // The decoder's whole upscaling and mask product. With fp16 activations its two upscaled intermediates are stored
        // rounded too (2^-11 relative, values of order 1), so fp16 gets an absolute slack of 2e-3 (about 3x what is seen).
        var (r, d) = Input(6, 2, 3, 3, 8);
        var (rh, dh) = Input(7, 2, 3, 2);
        var w = new UpscalingWeights(Param("output_upscaling.0.weight", 8, 4, 2, 2), Param("output_upscaling.0.bias", 4),
            Param("output_upscaling.1.weight", 4), Param("output_upscaling.1.bias", 4), 1e-6f,
            Param("output_upscaling.3.weight", 4, 2, 2, 2), Param("output_upscaling.3.bias", 2));
        var expected = ComposedOps.UpscaledMaskLogits(Reference, r, w, rh);
        var actual = Device.UpscaledMaskLogits(d, w, dh);
        Assert.Equal(expected.Shape, actual.Shape);
        AssertClose("upscaled mask logits", Reference.ToHost(expected), Device.ToHost(actual), atol: Precision == Precision.Fp16 ? 2e-3f : 1e-5f);
    }

    [AcceleratorFact]
    public void UpscaledMaskLogitsWithHighResSkipsAgainstTheComposedOps()
    {
        // SAM 2.1: feat_s1 added before the LayerNorm2d, feat_s0 before the second GELU, both shared by the batch.
        var (r, d) = Input(8, 2, 3, 3, 8);
        var (rh, dh) = Input(9, 2, 3, 2);
        var (r1, d1) = Input(10, 1, 6, 6, 4);
        var (r0, d0) = Input(11, 1, 12, 12, 2);
        var w = new UpscalingWeights(Param("output_upscaling.0.weight", 8, 4, 2, 2), Param("output_upscaling.0.bias", 4),
            Param("output_upscaling.1.weight", 4), Param("output_upscaling.1.bias", 4), 1e-6f,
            Param("output_upscaling.3.weight", 4, 2, 2, 2), Param("output_upscaling.3.bias", 2));
        var expected = Reference.ToHost(ComposedOps.UpscaledMaskLogits(Reference, r, w, rh, r1, r0));
        AssertClose("upscaled mask logits with skips", expected, Device.ToHost(Device.UpscaledMaskLogits(d, w, dh, d1, d0)),
            atol: Precision == Precision.Fp16 ? 2e-3f : 1e-5f);
        var without = Reference.ToHost(ComposedOps.UpscaledMaskLogits(Reference, r, w, rh));
        Assert.True(expected.Zip(without).Max(p => Math.Abs(p.First - p.Second)) > 1e-2f, "the skips must change the logits");
    }
}

[Accelerator(IlgpuDeviceKind.Cpu), Collection("ilgpu")] public sealed class ConvKernelsOnCpuAccelerator : ConvKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda), Collection("ilgpu")] public sealed class ConvKernelsOnCuda : ConvKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL), Collection("ilgpu")] public sealed class ConvKernelsOnOpenCL : ConvKernelTests;
[Accelerator(IlgpuDeviceKind.Cpu, Precision.Fp16), Collection("ilgpu")] public sealed class ConvKernelsFp16OnCpuAccelerator : ConvKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda, Precision.Fp16), Collection("ilgpu")] public sealed class ConvKernelsFp16OnCuda : ConvKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL, Precision.Fp16), Collection("ilgpu")] public sealed class ConvKernelsFp16OnOpenCL : ConvKernelTests;
