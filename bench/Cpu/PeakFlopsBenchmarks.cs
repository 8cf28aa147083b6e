using BenchmarkDotNet.Attributes;
using SamEngine.Backends.Cpu;

namespace SamEngine.Bench;

/// <summary>
/// Calibration: independent FMA chains in registers on the widest vector unit, all cores. Its GFLOP/s
/// column is this machine's FP32 peak, the yardstick for every other number.
/// </summary>
public class PeakFlopsBenchmarks : IFlopCounted
{
    private const long Iterations = 5_000_000;

    /// <inheritdoc />
    public double Flops => 2.0 * PeakFlops.Lanes * 12 * Iterations * Environment.ProcessorCount;

    [Benchmark]
    public double PeakFma() => PeakFlops.Measure(repeats: 1, iterations: Iterations);
}
