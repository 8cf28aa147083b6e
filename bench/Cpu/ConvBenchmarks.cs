using BenchmarkDotNet.Attributes;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Bench;

/// <summary>A dense k x k conv with a folded BatchNorm: input grid, channels in and out, kernel, stride.</summary>
public sealed record ConvCase(string Name, int Grid, int In, int Out, int Kernel, int Stride)
{
    public int OutSide => (Grid + 2 * (Kernel / 2) - Kernel) / Stride + 1;

    /// <summary>2 x MAC.</summary>
    public double Flops => 2.0 * OutSide * OutSide * Out * In * Kernel * Kernel;

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>MobileSAM's stem: the 3-channel 3x3 stride-2 conv at 1024, then 32 -> 64 at 512.</summary>
    public static readonly ConvCase[] All =
    [
        new("mobilesam_stem_conv1", 1024, 3, 32, 3, 2),
        new("mobilesam_stem_conv2", 512, 32, 64, 3, 2),
    ];
}

/// <summary>Conv2d + BatchNorm (im2col in bands, then the GEMM) on the CPU backend.</summary>
public class ConvBenchmarks : IFlopCounted
{
    private readonly CpuBackend _be = new();
    private Tensor _x = null!;
    private Parameter _weight = null!;
    private BatchNorm _bn = null!;

    [ParamsSource(nameof(Cases))]
    public ConvCase Case { get; set; } = ConvCase.All[0];

    public static IEnumerable<ConvCase> Cases => ConvCase.All;

    /// <inheritdoc />
    public double Flops => Case.Flops;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(6);
        var c = Case;
        _weight = Data.HalfParameter(rng, "c.weight", 0.3f, 0, c.Out, c.In, c.Kernel, c.Kernel);
        _bn = Data.BatchNorm(rng, "bn.", c.Out);
        _x = _be.FromHost(Data.Random(rng, c.Grid * c.Grid * c.In), 1, c.Grid, c.Grid, c.In);
    }

    [Benchmark]
    public Tensor Conv() => _be.Conv2dBn(_x, _weight, _bn, Case.Stride, Case.Kernel / 2, Activation.Gelu);
}
