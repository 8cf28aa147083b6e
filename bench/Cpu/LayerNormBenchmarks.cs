using BenchmarkDotNet.Attributes;
using SamEngine.Backends.Cpu;

namespace SamEngine.Bench;

/// <summary>
/// <see cref="Elementwise.LayerNorm"/> over an encoder's token grid, all cores, as the blocks run it before
/// their attention and MLP. Counted as one FLOP per element, so the GFLOP/s column reads as billions of
/// normalised values per second.
/// </summary>
public class LayerNormBenchmarks : IFlopCounted
{
    /// <summary>hiera_l's stage 3 (64 x 64 tokens, 576 channels) and vit_b's blocks (768).</summary>
    public static readonly (string Name, int Rows, int Channels)[] All = [("layernorm_hieral_s3", 4096, 576), ("layernorm_vitb", 4096, 768)];

    private float[] _x = [], _y = [], _gamma = [], _beta = [];

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = All[0].Name;

    public static IEnumerable<string> Cases => All.Select(c => c.Name);

    private (string Name, int Rows, int Channels) Shape => All.First(c => c.Name == Case);

    /// <inheritdoc />
    public double Flops => (double)Shape.Rows * Shape.Channels;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(4);
        _x = Data.Random(rng, Shape.Rows * Shape.Channels);
        _y = new float[_x.Length];
        _gamma = Data.Random(rng, Shape.Channels);
        _beta = Data.Random(rng, Shape.Channels);
    }

    [Benchmark]
    public float LayerNorm()
    {
        Elementwise.LayerNorm(_x, _y, Shape.Rows, Shape.Channels, _gamma, _beta, 1e-6f);
        return _y[0];
    }
}
