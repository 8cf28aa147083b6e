using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Tests.Kernels;

/// <summary>LayerNorm over tokens and LayerNorm2d (the same op over NHWC channels), channel counts below and above the 32 threads of a row.</summary>
public abstract class LayerNormKernelTests : KernelTestBase
{
    [AcceleratorFact]
    public void LayerNormOverTokensBothVariants()
    {
        var (r, d) = Input(1, 2, 37, 45);
        var g = Param("norm1.weight", 45);
        var b = Param("norm1.bias", 45);
        var expected = Reference.LayerNorm(r, g, b, 1e-6f);
        foreach (bool rowPerThread in new[] { false, true })
        {
            Device.LayerNormRowPerThread = rowPerThread;
            AssertClose($"layernorm (row per thread: {rowPerThread})", expected, Device.LayerNorm(d, g, b, 1e-6f));
        }
    }

    [AcceleratorFact]
    public void LayerNorm2dOverFewChannels()
    {
        var (r, d) = Input(2, 1, 5, 3, 7);
        var g = Param("neck.1.weight", 7);
        var b = Param("neck.1.bias", 7);
        AssertClose("layernorm2d", Reference.LayerNorm(r, g, b, 1e-6f), Device.LayerNorm(d, g, b, 1e-6f));
    }
}

[Accelerator(IlgpuDeviceKind.Cpu), Collection("ilgpu")] public sealed class LayerNormKernelsOnCpuAccelerator : LayerNormKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda), Collection("ilgpu")] public sealed class LayerNormKernelsOnCuda : LayerNormKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL), Collection("ilgpu")] public sealed class LayerNormKernelsOnOpenCL : LayerNormKernelTests;
[Accelerator(IlgpuDeviceKind.Cpu, Precision.Fp16), Collection("ilgpu")] public sealed class LayerNormKernelsFp16OnCpuAccelerator : LayerNormKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda, Precision.Fp16), Collection("ilgpu")] public sealed class LayerNormKernelsFp16OnCuda : LayerNormKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL, Precision.Fp16), Collection("ilgpu")] public sealed class LayerNormKernelsFp16OnOpenCL : LayerNormKernelTests;
