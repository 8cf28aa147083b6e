using BenchmarkDotNet.Attributes;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;

namespace SamEngine.Bench;

/// <summary><see cref="SmallRowLinear"/>, the CPU backend's Linear below 64 rows.</summary>
public class SmallRowLinearBenchmarks : IFlopCounted
{
    private float[] _x = [], _wt = [], _bias = [], _y = [];

    /// <summary>One prompt's 7 tokens and a decoder pass of 8 prompts (56 tokens), vit_b's decoder (D = 256, MLP 2048).</summary>
    public static readonly GemmCase[] All =
    [
        new("tokens7_proj", 7, 256, 256),
        new("tokens7_mlp_lin1", 7, 2048, 256, Activation.Relu),
        new("tokens56_proj", 56, 256, 256),
        new("tokens56_mlp_lin1", 56, 2048, 256, Activation.Relu),
        new("tokens56_mlp_lin2", 56, 256, 2048),
    ];

    [ParamsSource(nameof(Cases))]
    public GemmCase Case { get; set; } = All[0];

    public static IEnumerable<GemmCase> Cases => All;

    /// <inheritdoc />
    public double Flops => Case.Flops;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _x = Data.Random(rng, Case.M * Case.K);
        _wt = Data.Random(rng, Case.K * Case.N);
        _bias = Data.Random(rng, Case.N);
        _y = new float[Case.M * Case.N];
    }

    [Benchmark]
    public void Linear() => SmallRowLinear.Multiply(_x, Case.M, _wt, Case.N, Case.K, _bias, Case.Act, _y);
}
