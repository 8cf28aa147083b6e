using SamEngine.Kernels;
using SamEngine.Parity;
using SamEngine.Processing;

namespace SamEngine.Tests.Kernels;

/// <summary>On-device <c>postprocess_masks</c> (upscale with crop, resize to the original size) and the threshold, against the host implementation.</summary>
public abstract class PostprocessKernelTests : KernelTestBase
{
    /// <summary>With fp16 activations the cropped plane between the two passes is stored too: half an fp16 ulp of logits up to 4.</summary>
    private float Atol => Precision == Precision.Fp16 ? 4f * MathF.Pow(2, -11) : 1e-5f;

    [AcceleratorFact]
    public void UpscaleCropResizeThreshold()
    {
        const int planes = 3, low = 8, img = 32, inH = 21, inW = 32, origH = 13, origW = 20;
        var logits = Values(1, planes * low * low, 4f);
        var expected = Postprocess.PostprocessMasks(logits, planes, low, img, inH, inW, origH, origW);
        var y = Device.PostprocessMasks(Device.FromHost(logits, planes, low, low), img, inH, inW, origH, origW);
        var actual = Device.ToHost(y);
        AssertClose("mask logits", expected, actual, Atol);
        Assert.Equal(Postprocess.Threshold(actual), Device.ThresholdToHost(y));
    }

    [AcceleratorFact]
    public void UpscaleToALargerOriginal()
    {
        const int planes = 1, low = 4, img = 16, inH = 16, inW = 9, origH = 37, origW = 21;
        var logits = Values(2, planes * low * low, 4f);
        var expected = Postprocess.PostprocessMasks(logits, planes, low, img, inH, inW, origH, origW);
        var y = Device.PostprocessMasks(Device.FromHost(logits, planes, low, low), img, inH, inW, origH, origW);
        AssertClose("mask logits", expected, Device.ToHost(y), Atol);
    }
}

[Accelerator(IlgpuDeviceKind.Cpu), Collection("ilgpu")] public sealed class PostprocessKernelsOnCpuAccelerator : PostprocessKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda), Collection("ilgpu")] public sealed class PostprocessKernelsOnCuda : PostprocessKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL), Collection("ilgpu")] public sealed class PostprocessKernelsOnOpenCL : PostprocessKernelTests;
[Accelerator(IlgpuDeviceKind.Cpu, Precision.Fp16), Collection("ilgpu")] public sealed class PostprocessKernelsFp16OnCpuAccelerator : PostprocessKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda, Precision.Fp16), Collection("ilgpu")] public sealed class PostprocessKernelsFp16OnCuda : PostprocessKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL, Precision.Fp16), Collection("ilgpu")] public sealed class PostprocessKernelsFp16OnOpenCL : PostprocessKernelTests;
