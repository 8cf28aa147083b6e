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
    public static void LayerNorm<TAct>(TAct x, ArrayView<ushort> gamma, ArrayView<ushort> beta, TAct y, int c, float eps)
        where TAct : struct, IActivations<TAct>
    {
        var partial = SharedMemory.Allocate<float>(Threads);
        int row = Grid.IdxX, t = Group.IdxX, o = row * c;
        float sum = 0f;
        for (int i = t; i < c; i += Threads) sum += x.Load(o + i);
        float mean = Reduce(partial, t, sum) / c;
        float sq = 0f;
        for (int i = t; i < c; i += Threads)
        {
            float d = x.Load(o + i) - mean;
            sq += d * d;
        }
        float rstd = ILGPU.Algorithms.XMath.Rsqrt(Reduce(partial, t, sq) / c + eps);
        for (int i = t; i < c; i += Threads)
            y.Store(o + i, (x.Load(o + i) - mean) * rstd * DeviceMath.HalfToFloat(gamma[i]) + DeviceMath.HalfToFloat(beta[i]));
    }

    /// <summary>
    /// One thread per row, no barriers: the variant for ILGPU's CPU accelerator, where every group
    /// barrier is an OS-level rendezvous of 32 threads and the group kernel spends its time there.
    /// </summary>
    public static void LayerNormRowPerThread<TAct>(Index1D row, TAct x, ArrayView<ushort> gamma, ArrayView<ushort> beta, TAct y, int c, float eps)
        where TAct : struct, IActivations<TAct>
    {
        int o = row * c;
        float sum = 0f;
        for (int i = 0; i < c; i++) sum += x.Load(o + i);
        float mean = sum / c, sq = 0f;
        for (int i = 0; i < c; i++)
        {
            float d = x.Load(o + i) - mean;
            sq += d * d;
        }
        float rstd = ILGPU.Algorithms.XMath.Rsqrt(sq / c + eps);
        for (int i = 0; i < c; i++)
            y.Store(o + i, (x.Load(o + i) - mean) * rstd * DeviceMath.HalfToFloat(gamma[i]) + DeviceMath.HalfToFloat(beta[i]));
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

/// <summary>Loads the LayerNorm kernels for one activation format on one accelerator and launches the one that suits it.</summary>
public sealed class LayerNormLauncher<TAct>(Accelerator accelerator) where TAct : struct, IActivations<TAct>
{
    private readonly Lazy<Action<Index1D, TAct, ArrayView<ushort>, ArrayView<ushort>, TAct, int, float>> _rowPerThread =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, ArrayView<ushort>, ArrayView<ushort>, TAct, int, float>(LayerNormKernels.LayerNormRowPerThread));
    private readonly Lazy<Action<KernelConfig, TAct, ArrayView<ushort>, ArrayView<ushort>, TAct, int, float>> _kernel =
        new(() => accelerator.LoadStreamKernel<TAct, ArrayView<ushort>, ArrayView<ushort>, TAct, int, float>(LayerNormKernels.LayerNorm));

    /// <summary>Whether <see cref="LayerNorm"/> uses the barrier-free variant (on the CPU accelerator).</summary>
    public bool RowPerThread { get; set; } = accelerator.AcceleratorType == AcceleratorType.CPU;

    /// <summary>y [rows, c] = LayerNorm(x) · gamma + beta.</summary>
    public void LayerNorm(TAct x, int rows, int c, ArrayView<ushort> gamma, ArrayView<ushort> beta, float eps, TAct y)
    {
        if (rows == 0) return;
        if (RowPerThread) _rowPerThread.Value(rows, x, gamma, beta, y, c, eps);
        else _kernel.Value(new KernelConfig(rows, LayerNormKernels.Threads), x, gamma, beta, y, c, eps);
    }
}
