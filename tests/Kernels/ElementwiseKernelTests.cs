using SamEngine.Backends;
using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Tests.Kernels;

/// <summary>Broadcast add, activations, transpose, row slicing / concatenation, reshape and the host round trips.</summary>
public abstract class ElementwiseKernelTests : KernelTestBase
{
    [AcceleratorFact]
    public void AddBroadcastsTheTrailingShape()
    {
        var (ra, da) = Input(1, 2, 5, 7, 9);
        var (rb, db) = Input(2, 7, 9);
        AssertClose("add broadcast", Reference.Add(ra, rb), Device.Add(da, db));
        var (rc, dc) = Input(3, 2, 5, 7, 9);
        AssertClose("add same shape", Reference.Add(ra, rc), Device.Add(da, dc));
    }

    [AcceleratorFact]
    public void ActivationsMatchExactGeluAndRelu()
    {
        var v = Values(4, 1001, 8f);
        var r = Reference.FromHost(v, 1001);
        var d = Device.FromHost(v, 1001);
        foreach (var act in new[] { Activation.None, Activation.Gelu, Activation.Relu })
            AssertClose($"activate {act}", Reference.Activate(r, act), Device.Activate(d, act));
    }

    [AcceleratorFact]
    public void TransposeSwapsTheLastTwoDimensions()
    {
        var (r, d) = Input(5, 2, 5, 70);
        AssertClose("transpose", Reference.Transpose(r), Device.Transpose(d));
    }

    [AcceleratorFact]
    public void SliceAndConcatRows()
    {
        var (r, d) = Input(6, 2, 9, 6);
        AssertClose("slice", Reference.SliceRows(r, 3, 4), Device.SliceRows(d, 3, 4));
        AssertClose("slice one", Reference.SliceRows(r, 8, 1), Device.SliceRows(d, 8, 1));
        var (r1, d1) = Input(7, 2, 1, 6);
        var (r3, d3) = Input(8, 2, 3, 6);
        AssertClose("concat", Reference.ConcatRows(r1, r, r3), Device.ConcatRows(d1, d, d3));
    }

    [AcceleratorFact]
    public void MaxPoolAndUpsampleAddChangeTheResolution()
    {
        var (r, d) = Input(10, 2, 7, 6, 5);
        AssertClose("max pool 2x2 odd grid", Reference.MaxPool2x2(r), Device.MaxPool2x2(d));
        var (rf, df) = Input(11, 2, 6, 4, 5);
        var (rc, dc) = Input(12, 2, 3, 2, 5);
        AssertClose("add upsampled 2x", Reference.AddUpsampled2x(rf, rc), Device.AddUpsampled2x(df, dc));
    }

    [AcceleratorFact]
    public void ReshapeSharesDataAndParametersWiden()
    {
        var (r, d) = Input(9, 2, 3, 4);
        AssertClose("reshape", Reference.Reshape(r, 6, 4), Device.Reshape(d, 6, 4));
        var p = Param("pos_embed", 1, 3, 5, 8);
        AssertClose("parameter", Reference.FromParameter(p), Device.FromParameter(p));
    }
}

[Accelerator(IlgpuDeviceKind.Cpu), Collection("ilgpu")] public sealed class ElementwiseKernelsOnCpuAccelerator : ElementwiseKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda), Collection("ilgpu")] public sealed class ElementwiseKernelsOnCuda : ElementwiseKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL), Collection("ilgpu")] public sealed class ElementwiseKernelsOnOpenCL : ElementwiseKernelTests;
[Accelerator(IlgpuDeviceKind.Cpu, Precision.Fp16), Collection("ilgpu")] public sealed class ElementwiseKernelsFp16OnCpuAccelerator : ElementwiseKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda, Precision.Fp16), Collection("ilgpu")] public sealed class ElementwiseKernelsFp16OnCuda : ElementwiseKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL, Precision.Fp16), Collection("ilgpu")] public sealed class ElementwiseKernelsFp16OnOpenCL : ElementwiseKernelTests;
