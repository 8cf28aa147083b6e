using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// Measures this machine's peak FP32 FMA throughput: on every core at once, a loop of independent FMA
/// chains held in registers on the widest vector unit, so the measure is the FMA ports and nothing
/// else. The reference point for "fraction of peak" in the benchmarks.
/// </summary>
public static class PeakFlops
{
    // 12 chains cover FMA latency x ports (4 cycles x 2 ports, on x86 and Cortex-A76-class Arm alike) with room to spare.
    private const int Chains = 12;

    /// <summary>Vector width in floats of the unit measured.</summary>
    public static int Lanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8
        : Vector128.IsHardwareAccelerated ? 4 : Vector<float>.Count;

    /// <summary>
    /// Peak GFLOP/s (FLOP = 2 per lane per FMA) on <paramref name="threads"/> threads (default: all
    /// cores), best of <paramref name="repeats"/> runs of about <paramref name="iterations"/> loop trips each.
    /// </summary>
    public static double Measure(int threads = 0, int repeats = 5, long iterations = 20_000_000)
    {
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            using var start = new Barrier(threads + 1);
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                start.SignalAndWait();
                Sink(Run(iterations));
            }) { IsBackground = true }).ToArray();
            foreach (var w in workers) w.Start();
            start.SignalAndWait();
            var sw = Stopwatch.StartNew();
            foreach (var w in workers) w.Join();
            double flops = 2.0 * Lanes * Chains * iterations * threads;
            best = Math.Max(best, flops / sw.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Sink(float x) { if (x == 1234.5f) Console.Write(""); }

    private static float Run(long iterations) =>
        Vector512.IsHardwareAccelerated ? Chains512(iterations)
        : Vector256.IsHardwareAccelerated ? Chains256(iterations)
        : Vector128.IsHardwareAccelerated ? Chains128(iterations) : ChainsPortable(iterations);

    // acc = acc * m + e converges instead of overflowing, whatever the count.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Chains512(long n)
    {
        var m = Vector512.Create(0.9999999f);
        var e = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(0f), a1 = Vector512.Create(1f), a2 = Vector512.Create(2f), a3 = Vector512.Create(3f),
            a4 = Vector512.Create(4f), a5 = Vector512.Create(5f), a6 = Vector512.Create(6f), a7 = Vector512.Create(7f),
            a8 = Vector512.Create(8f), a9 = Vector512.Create(9f), a10 = Vector512.Create(10f), a11 = Vector512.Create(11f);
        for (long i = 0; i < n; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, e); a1 = Vector512.FusedMultiplyAdd(a1, m, e); a2 = Vector512.FusedMultiplyAdd(a2, m, e);
            a3 = Vector512.FusedMultiplyAdd(a3, m, e); a4 = Vector512.FusedMultiplyAdd(a4, m, e); a5 = Vector512.FusedMultiplyAdd(a5, m, e);
            a6 = Vector512.FusedMultiplyAdd(a6, m, e); a7 = Vector512.FusedMultiplyAdd(a7, m, e); a8 = Vector512.FusedMultiplyAdd(a8, m, e);
            a9 = Vector512.FusedMultiplyAdd(a9, m, e); a10 = Vector512.FusedMultiplyAdd(a10, m, e); a11 = Vector512.FusedMultiplyAdd(a11, m, e);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Chains256(long n)
    {
        var m = Vector256.Create(0.9999999f);
        var e = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(0f), a1 = Vector256.Create(1f), a2 = Vector256.Create(2f), a3 = Vector256.Create(3f),
            a4 = Vector256.Create(4f), a5 = Vector256.Create(5f), a6 = Vector256.Create(6f), a7 = Vector256.Create(7f),
            a8 = Vector256.Create(8f), a9 = Vector256.Create(9f), a10 = Vector256.Create(10f), a11 = Vector256.Create(11f);
        for (long i = 0; i < n; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, e); a1 = Vector256.FusedMultiplyAdd(a1, m, e); a2 = Vector256.FusedMultiplyAdd(a2, m, e);
            a3 = Vector256.FusedMultiplyAdd(a3, m, e); a4 = Vector256.FusedMultiplyAdd(a4, m, e); a5 = Vector256.FusedMultiplyAdd(a5, m, e);
            a6 = Vector256.FusedMultiplyAdd(a6, m, e); a7 = Vector256.FusedMultiplyAdd(a7, m, e); a8 = Vector256.FusedMultiplyAdd(a8, m, e);
            a9 = Vector256.FusedMultiplyAdd(a9, m, e); a10 = Vector256.FusedMultiplyAdd(a10, m, e); a11 = Vector256.FusedMultiplyAdd(a11, m, e);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Chains128(long n)
    {
        var m = Vector128.Create(0.9999999f);
        var e = Vector128.Create(1e-7f);
        Vector128<float> a0 = Vector128.Create(0f), a1 = Vector128.Create(1f), a2 = Vector128.Create(2f), a3 = Vector128.Create(3f),
            a4 = Vector128.Create(4f), a5 = Vector128.Create(5f), a6 = Vector128.Create(6f), a7 = Vector128.Create(7f),
            a8 = Vector128.Create(8f), a9 = Vector128.Create(9f), a10 = Vector128.Create(10f), a11 = Vector128.Create(11f);
        for (long i = 0; i < n; i++)
        {
            a0 = Vector128.FusedMultiplyAdd(a0, m, e); a1 = Vector128.FusedMultiplyAdd(a1, m, e); a2 = Vector128.FusedMultiplyAdd(a2, m, e);
            a3 = Vector128.FusedMultiplyAdd(a3, m, e); a4 = Vector128.FusedMultiplyAdd(a4, m, e); a5 = Vector128.FusedMultiplyAdd(a5, m, e);
            a6 = Vector128.FusedMultiplyAdd(a6, m, e); a7 = Vector128.FusedMultiplyAdd(a7, m, e); a8 = Vector128.FusedMultiplyAdd(a8, m, e);
            a9 = Vector128.FusedMultiplyAdd(a9, m, e); a10 = Vector128.FusedMultiplyAdd(a10, m, e); a11 = Vector128.FusedMultiplyAdd(a11, m, e);
        }
        return Vector128.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float ChainsPortable(long n)
    {
        var m = new Vector<float>(0.9999999f);
        var e = new Vector<float>(1e-7f);
        Vector<float> a0 = new(0f), a1 = new(1f), a2 = new(2f), a3 = new(3f), a4 = new(4f), a5 = new(5f),
            a6 = new(6f), a7 = new(7f), a8 = new(8f), a9 = new(9f), a10 = new(10f), a11 = new(11f);
        for (long i = 0; i < n; i++)
        {
            a0 = Vector.FusedMultiplyAdd(a0, m, e); a1 = Vector.FusedMultiplyAdd(a1, m, e); a2 = Vector.FusedMultiplyAdd(a2, m, e);
            a3 = Vector.FusedMultiplyAdd(a3, m, e); a4 = Vector.FusedMultiplyAdd(a4, m, e); a5 = Vector.FusedMultiplyAdd(a5, m, e);
            a6 = Vector.FusedMultiplyAdd(a6, m, e); a7 = Vector.FusedMultiplyAdd(a7, m, e); a8 = Vector.FusedMultiplyAdd(a8, m, e);
            a9 = Vector.FusedMultiplyAdd(a9, m, e); a10 = Vector.FusedMultiplyAdd(a10, m, e); a11 = Vector.FusedMultiplyAdd(a11, m, e);
        }
        return Vector.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
