using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace SamEngine.Kernels;

/// <summary>The accelerator kinds the ILGPU backend runs on.</summary>
public enum IlgpuDeviceKind
{
    /// <summary>ILGPU's CPU accelerator (a simulator: correct, very slow).</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through CUDA.</summary>
    Cuda,
    /// <summary>An OpenCL device ILGPU accepts (OpenCL 2.0 with generic address space).</summary>
    OpenCL,
}

/// <summary>Finds and opens accelerators.</summary>
public static class IlgpuDevices
{
    /// <summary>
    /// The CPU accelerator's shape: warps of 32, 8 warps per group (256 threads, the largest group the
    /// kernels launch) and 2 groups in flight. ILGPU's default CPU device allows only 16 threads per group.
    /// </summary>
    public static CPUDevice CpuDevice() => new(32, 8, 2);

    /// <summary>Creates a context with only the given kind's devices and algorithms enabled.</summary>
    public static Context CreateContext(IlgpuDeviceKind kind) => Context.Create(b =>
    {
        _ = kind switch
        {
            IlgpuDeviceKind.Cpu => b.CPU(CpuDevice()),
            IlgpuDeviceKind.Cuda => b.Cuda(),
            _ => b.OpenCL(),
        };
        b.EnableAlgorithms();
    });

    /// <summary>The first usable device of the kind in <paramref name="context"/>, or null with the reason.</summary>
    public static Device? Find(Context context, IlgpuDeviceKind kind, bool gpuOnly, out string reason)
    {
        reason = "";
        Device? found = kind switch
        {
            IlgpuDeviceKind.Cpu => context.Devices.FirstOrDefault(d => d.AcceleratorType == AcceleratorType.CPU),
            IlgpuDeviceKind.Cuda => First(context.GetCudaDevices(), _ => true),
            _ => First(context.GetCLDevices(), d => !gpuOnly || d.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU),
        };
        if (found is null)
            reason = kind switch
            {
                IlgpuDeviceKind.Cuda => "no CUDA device found",
                _ => gpuOnly ? "no OpenCL GPU that ILGPU supports was found" : "no OpenCL device that ILGPU supports was found",
            };
        return found;
    }

    private static Device? First<T>(Context.DeviceCollection<T> devices, Func<T, bool> accept) where T : Device
    {
        foreach (var d in devices)
            if (accept(d)) return d;
        return null;
    }

    /// <summary>Whether a device of the kind is present (cheap enough for test discovery).</summary>
    public static bool IsAvailable(IlgpuDeviceKind kind, out string reason)
    {
        try
        {
            using var ctx = CreateContext(kind);
            return Find(ctx, kind, gpuOnly: false, out reason) is not null;
        }
        catch (Exception e)
        {
            reason = $"{kind} runtime unavailable: {e.Message}";
            return false;
        }
    }
}
