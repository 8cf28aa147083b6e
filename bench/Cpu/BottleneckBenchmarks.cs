using BenchmarkDotNet.Attributes;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Bench;

/// <summary>An inverted bottleneck of MobileSAM's TinyViT: grid, channels in, hidden, out, stride, and whether it is an MBConv (residual, GELU).</summary>
public sealed record BottleneckCase(string Name, int Grid, int In, int Hidden, int Out, int Stride, bool Residual)
{
    /// <summary>Both 1x1 convs and the 3x3 depthwise one, 2 x MAC (activations not counted).</summary>
    public double Flops
    {
        get
        {
            double pixelsIn = (double)Grid * Grid, outSide = (Grid - 1) / Stride + 1, pixelsOut = outSide * outSide;
            return 2.0 * (pixelsIn * In * Hidden + pixelsOut * Hidden * 9 + pixelsOut * Hidden * Out);
        }
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>Stage 1's MBConv (a quarter of the encoder's time) and the first PatchMerging.</summary>
    public static readonly BottleneckCase[] All =
    [
        new("mobilesam_s1_mbconv", 256, 64, 256, 64, 1, true),
        new("mobilesam_s1_merge", 256, 64, 128, 128, 2, false),
    ];
}

/// <summary>The row-streamed inverted bottleneck (<see cref="IBackend.InvertedBottleneck"/>) on the CPU backend.</summary>
public class BottleneckBenchmarks : IFlopCounted
{
    private readonly CpuBackend _be = new();
    private Tensor _x = null!, _residual = null!;
    private InvertedBottleneckWeights _weights = null!;

    [ParamsSource(nameof(Cases))]
    public BottleneckCase Case { get; set; } = BottleneckCase.All[0];

    public static IEnumerable<BottleneckCase> Cases => BottleneckCase.All;

    /// <inheritdoc />
    public double Flops => Case.Flops;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(5);
        Parameter Half(string name, float scale, params int[] shape) => Data.HalfParameter(rng, name, scale, 0, shape);
        var c = Case;
        _weights = new InvertedBottleneckWeights(Half("conv1.c.weight", 0.3f, c.Hidden, c.In, 1, 1), Data.BatchNorm(rng, "conv1.bn.", c.Hidden),
            Half("conv2.c.weight", 1, c.Hidden, 1, 3, 3), Data.BatchNorm(rng, "conv2.bn.", c.Hidden), c.Stride,
            Half("conv3.c.weight", 0.3f, c.Out, c.Hidden, 1, 1), Data.BatchNorm(rng, "conv3.bn.", c.Out));
        int outSide = (c.Grid - 1) / c.Stride + 1;
        _x = _be.FromHost(Data.Random(rng, c.Grid * c.Grid * c.In), 1, c.Grid, c.Grid, c.In);
        _residual = _be.FromHost(Data.Random(rng, outSide * outSide * c.Out), 1, outSide, outSide, c.Out);
    }

    [Benchmark]
    public Tensor Bottleneck() => Case.Residual
        ? _be.InvertedBottleneck(_x, _weights, Activation.Gelu, _residual)
        : _be.InvertedBottleneck(_x, _weights);
}
