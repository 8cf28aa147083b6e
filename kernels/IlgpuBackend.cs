using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using SamEngine.Backends;
using SamEngine.Parity;
using SamEngine.Weights;

namespace SamEngine.Kernels;

/// <summary>
/// An <see cref="IBackend"/> on an ILGPU accelerator (<see cref="IlgpuBackend{TAct}"/>), with what the
/// tests, benchmarks and host-side callers need beyond the model's ops.
/// </summary>
public interface IIlgpuBackend : IBackend
{
    /// <summary>The accelerator the kernels run on.</summary>
    Accelerator Accelerator { get; }

    /// <summary>Whether LayerNorm uses its barrier-free row-per-thread kernel (the default on the CPU accelerator).</summary>
    bool LayerNormRowPerThread { get; set; }

    /// <summary>Fourier features [n, D] of normalised coordinates [n, 2] (points and box corners).</summary>
    Tensor PointPositionalEncoding(Tensor coords, Parameter gaussian);

    /// <summary>The official <c>postprocess_masks</c> on the device: low-res logits [planes, s, s] → [planes, origH, origW].</summary>
    Tensor PostprocessMasks(Tensor lowRes, int imgSize, int inputH, int inputW, int origH, int origW);

    /// <summary>Binary masks (1 where a logit is above 0) copied to the host.</summary>
    byte[] ThresholdToHost(Tensor logits);
}

/// <summary>Opens ILGPU backends.</summary>
public static class IlgpuBackend
{
    /// <summary>Opens the first device of <paramref name="kind"/> with activations stored in <paramref name="precision"/>; throws <see cref="NotSupportedException"/> saying why when there is none.</summary>
    public static IIlgpuBackend Create(IlgpuDeviceKind kind, bool gpuOnly = false, Precision precision = Precision.Fp32)
    {
        var context = IlgpuDevices.CreateContext(kind);
        try
        {
            var device = IlgpuDevices.Find(context, kind, gpuOnly, out string reason) ?? throw new NotSupportedException(reason);
            string name = kind switch { IlgpuDeviceKind.Cpu => "ilgpu-cpu", IlgpuDeviceKind.Cuda => "cuda", _ => "opencl" };
            var accelerator = device.CreateAccelerator(context);
            return precision == Precision.Fp16
                ? new IlgpuBackend<Fp16Activations>(context, accelerator, name)
                : new IlgpuBackend<Fp32Activations>(context, accelerator, name);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }
}
