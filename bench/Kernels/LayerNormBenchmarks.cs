using BenchmarkDotNet.Attributes;
using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Bench.Kernels;

/// <summary>LayerNorm over ViT tokens and LayerNorm2d over the neck's channels (memory bound: GB/s).</summary>
public class LayerNormBenchmarks : IShapedBenchmark
{
    private Tensor _x = null!;
    private Parameter _g = null!, _b = null!;

    /// <summary>Shape name.</summary>
    [Params("vitb_norm", "vith_norm", "neck_norm2d")]
    public string Shape { get; set; } = "";

    private static (int Rows, int C) Size(string shape) => (shape, KernelBenchHost.IsGpu) switch
    {
        ("vitb_norm", true) => (4096, 768),
        ("vith_norm", true) => (4096, 1280),
        ("neck_norm2d", true) => (4096, 256),
        ("vitb_norm", false) => (64, 96),
        ("vith_norm", false) => (64, 160),
        ("neck_norm2d", false) => (64, 32),
        _ => throw new ArgumentException($"unknown LayerNorm shape '{shape}'"),
    };

    /// <inheritdoc />
    public static (double, string) Work(string shape)
    {
        var (rows, c) = Size(shape);
        return (2.0 * 4 * rows * c, "B"); // read once, write once
    }

    /// <summary>Uploads inputs once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var (rows, c) = Size(Shape);
        _x = KernelBenchHost.Backend.FromHost(new float[rows * c], rows, c);
        _g = new Parameter("norm.weight", [c], GeneratedWeights.Generate("norm.weight", [c], 0));
        _b = new Parameter("norm.bias", [c], GeneratedWeights.Generate("norm.bias", [c], 0));
        LayerNorm().Dispose();
    }

    /// <summary>One LayerNorm, synchronised.</summary>
    [Benchmark]
    public Tensor LayerNorm()
    {
        var y = KernelBenchHost.Backend.LayerNorm(_x, _g, _b, 1e-6f);
        KernelBenchHost.Backend.Synchronize();
        y.Dispose();
        return y;
    }
}
