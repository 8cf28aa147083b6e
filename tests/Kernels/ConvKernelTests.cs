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
}

[Accelerator(IlgpuDeviceKind.Cpu), Collection("ilgpu")] public sealed class ConvKernelsOnCpuAccelerator : ConvKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda), Collection("ilgpu")] public sealed class ConvKernelsOnCuda : ConvKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL), Collection("ilgpu")] public sealed class ConvKernelsOnOpenCL : ConvKernelTests;
[Accelerator(IlgpuDeviceKind.Cpu, Precision.Fp16), Collection("ilgpu")] public sealed class ConvKernelsFp16OnCpuAccelerator : ConvKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda, Precision.Fp16), Collection("ilgpu")] public sealed class ConvKernelsFp16OnCuda : ConvKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL, Precision.Fp16), Collection("ilgpu")] public sealed class ConvKernelsFp16OnOpenCL : ConvKernelTests;
