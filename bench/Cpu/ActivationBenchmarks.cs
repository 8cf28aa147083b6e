using BenchmarkDotNet.Attributes;
using SamEngine.Backends.Cpu;

namespace SamEngine.Bench;

/// <summary>
/// The vectorised exact GELU (<see cref="Elementwise.GeluInPlace"/>) as the GEMM and depthwise-conv epilogues
/// run it: in place over a block that stays in cache, one thread. Counted as one FLOP per element, so the
/// GFLOP/s column reads as billions of GELUs per second.
/// </summary>
public class ActivationBenchmarks : IFlopCounted
{
    /// <summary>Elements: a 12 x 32 GEMM tile, and a 256 KB block (a depthwise row of MobileSAM's stage 1, 256 x 256 channels).</summary>
    public static readonly (string Name, int Count)[] All = [("gelu_tile_384", 384), ("gelu_block_64k", 65536)];

    private float[] _x = [], _src = [];

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = All[0].Name;

    public static IEnumerable<string> Cases => All.Select(c => c.Name);

    private int Count => All.First(c => c.Name == Case).Count;

    /// <summary>Calls per invocation, so that one invocation is long enough to time.</summary>
    private int Repeats => Math.Max(1, (1 << 20) / Count);

    /// <inheritdoc />
    public double Flops => (double)Count * Repeats;

    [GlobalSetup]
    public void Setup()
    {
        // Pre-activations as a Linear gives them: most within a few units of 0, some far out on both sides.
        _src = Data.Random(new Random(3), Count).Select(v => 4f * v).ToArray();
        _x = new float[Count];
    }

    [Benchmark]
    public float Gelu()
    {
        for (int r = 0; r < Repeats; r++)
        {
            _src.AsSpan().CopyTo(_x);
            Elementwise.GeluInPlace(_x);
        }
        return _x[0];
    }
}
