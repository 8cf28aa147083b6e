using ILGPU;
using ILGPU.Runtime;

namespace SamEngine.Kernels;

/// <summary>
/// LayerNorm over the last dimension (LayerNorm2d is the same op in NHWC): one group of 32 threads per
/// row, mean then biased variance of the centred values, both reduced in fp32 through shared memory.
/// </summary>
public static class LayerNormKernels
{
    /// <summary>Threads per row.</summary>
    public const int Threads = 32;

    /// <summary>Grid (rows) x group (32).</summary>
    public static void LayerNorm(ArrayView<float> x, ArrayView<ushort> gamma, ArrayView<ushort> beta, ArrayView<float> y, int c, float eps)
    {
        var partial = SharedMemory.Allocate<float>(Threads);
        int row = Grid.IdxX, t = Group.IdxX, o = row * c;
        float sum = 0f;
        for (int i = t; i < c; i += Threads) sum += x[o + i];
        float mean = Reduce(partial, t, sum) / c;
        float sq = 0f;
        for (int i = t; i < c; i += Threads)
        {
            float d = x[o + i] - mean;
            sq += d * d;
        }
        float rstd = ILGPU.Algorithms.XMath.Rsqrt(Reduce(partial, t, sq) / c + eps);
        for (int i = t; i < c; i += Threads)
            y[o + i] = (x[o + i] - mean) * rstd * DeviceMath.HalfToFloat(gamma[i]) + DeviceMath.HalfToFloat(beta[i]);
    }

    /// <summary>
    /// One thread per row, no barriers: the variant for ILGPU's CPU accelerator, where every group
    /// barrier is an OS-level rendezvous of 32 threads and the group kernel spends its time there.
    /// </summary>
    public static void LayerNormRowPerThread(Index1D row, ArrayView<float> x, ArrayView<ushort> gamma, ArrayView<ushort> beta, ArrayView<float> y, int c, float eps)
    {
        int o = row * c;
        float sum = 0f;
        for (int i = 0; i < c; i++) sum += x[o + i];
        float mean = sum / c, sq = 0f;
        for (int i = 0; i < c; i++)
        {
            float d = x[o + i] - mean;
            sq += d * d;
        }
        float rstd = ILGPU.Algorithms.XMath.Rsqrt(sq / c + eps);
        for (int i = 0; i < c; i++)
            y[o + i] = (x[o + i] - mean) * rstd * DeviceMath.HalfToFloat(gamma[i]) + DeviceMath.HalfToFloat(beta[i]);
    }

    /// <summary>Sum of <paramref name="v"/> over the group; every thread gets the result.</summary>
    private static float Reduce(ArrayView<float> partial, int t, float v)
    {
        partial[t] = v;
        Group.Barrier();
        for (int half = Threads / 2; half > 0; half /= 2)
        {
            if (t < half) partial[t] += partial[t + half];
            Group.Barrier();
        }
        float r = partial[0];
        Group.Barrier();
        return r;
    }
}

/// <summary>Loads the LayerNorm kernels on one accelerator and launches the one that suits it.</summary>
public sealed class LayerNormLauncher(Accelerator accelerator)
{
    private readonly Lazy<Action<Index1D, ArrayView<float>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, int, float>> _rowPerThread =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, int, float>(LayerNormKernels.LayerNormRowPerThread));

    /// <summary>Whether <see cref="LayerNorm"/> uses the barrier-free variant (on the CPU accelerator).</summary>
    public bool RowPerThread { get; set; } = accelerator.AcceleratorType == AcceleratorType.CPU;

    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, int, float>> _kernel =
        new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, int, float>(LayerNormKernels.LayerNorm));

    /// <summary>y [rows, c] = LayerNorm(x) · gamma + beta.</summary>
    public void LayerNorm(ArrayView<float> x, int rows, int c, ArrayView<ushort> gamma, ArrayView<ushort> beta, float eps, ArrayView<float> y)
    {
        if (rows == 0) return;
        if (RowPerThread) _rowPerThread.Value(rows, x, gamma, beta, y, c, eps);
        else _kernel.Value(new KernelConfig(rows, LayerNormKernels.Threads), x, gamma, beta, y, c, eps);
    }
}
