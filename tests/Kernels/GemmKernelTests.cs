using SamEngine.Backends;
using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Tests.Kernels;

/// <summary>The tiled GEMM behind Linear (with its fused epilogues) and MatMulTransposed, on shapes that do not fill a 64 x 64 tile or a 16-deep K step.</summary>
public abstract class GemmKernelTests : KernelTestBase
{
    [AcceleratorFact]
    public void LinearWithBiasAndEachActivation()
    {
        var (r, d) = Input(1, 2, 37, 45);
        var w = Param("blk.mlp.lin1.weight", 70, 45);
        var b = Param("blk.mlp.lin1.bias", 70);
        foreach (var act in new[] { Activation.None, Activation.Gelu, Activation.Relu })
            AssertClose($"linear {act}", Reference.Linear(r, w, b, act), Device.Linear(d, w, b, act));
    }

    [AcceleratorFact]
    public void LinearWithResidualAddedAfterTheActivation()
    {
        var (r, d) = Input(5, 2, 37, 45);
        var (rr, dr) = Input(6, 2, 37, 70);
        var w = Param("blk.mlp.lin2.weight", 70, 45);
        var b = Param("blk.mlp.lin2.bias", 70);
        foreach (var act in new[] { Activation.None, Activation.Gelu })
            AssertClose($"linear {act} + residual", Reference.Add(Reference.Linear(r, w, b, act), rr), Device.Linear(d, w, b, act, residual: dr));
        var single = Input(7, 1, 1, 45);
        var singleRes = Input(8, 1, 1, 70);
        AssertClose("single token + residual", Reference.Add(Reference.Linear(single.Ref, w, null), singleRes.Ref), Device.Linear(single.Dev, w, null, residual: singleRes.Dev));
    }

    [AcceleratorFact]
    public void LinearWithoutBiasOnASingleToken()
    {
        var (r, d) = Input(2, 1, 1, 19);
        var w = Param("proj.weight", 5, 19);
        AssertClose("linear single token", Reference.Linear(r, w, null), Device.Linear(d, w, null));
    }

    [AcceleratorFact]
    public void MatMulTransposedBatched()
    {
        var (ra, da) = Input(3, 3, 19, 24);
        var (rb, db) = Input(4, 3, 70, 24);
        AssertClose("matmul", Reference.MatMulTransposed(ra, rb), Device.MatMulTransposed(da, db));
    }
}

[Accelerator(IlgpuDeviceKind.Cpu), Collection("ilgpu")] public sealed class GemmKernelsOnCpuAccelerator : GemmKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda), Collection("ilgpu")] public sealed class GemmKernelsOnCuda : GemmKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL), Collection("ilgpu")] public sealed class GemmKernelsOnOpenCL : GemmKernelTests;
[Accelerator(IlgpuDeviceKind.Cpu, Precision.Fp16), Collection("ilgpu")] public sealed class GemmKernelsFp16OnCpuAccelerator : GemmKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda, Precision.Fp16), Collection("ilgpu")] public sealed class GemmKernelsFp16OnCuda : GemmKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL, Precision.Fp16), Collection("ilgpu")] public sealed class GemmKernelsFp16OnOpenCL : GemmKernelTests;
