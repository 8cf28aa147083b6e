using BenchmarkDotNet.Attributes;
using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Bench.Kernels;

/// <summary>The tiled GEMM as Linear with bias (and GELU for the MLP), at SAM's linear-layer shapes.</summary>
public class GemmBenchmarks : IShapedBenchmark
{
    private Tensor _x = null!;
    private Parameter _w = null!, _b = null!;

    /// <summary>Shape name (see <see cref="KernelShapes.Gemm"/>).</summary>
    [Params("vitb_qkv", "vitb_mlp", "vith_mlp", "decoder_mlp")]
    public string Shape { get; set; } = "";

    /// <inheritdoc />
    public static (double, string) Work(string shape)
    {
        var (m, k, n) = KernelShapes.Gemm(shape, KernelBenchHost.IsGpu);
        return (2.0 * m * k * n, "FLOP");
    }

    /// <summary>Uploads inputs and weights once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var (m, k, n) = KernelShapes.Gemm(Shape, KernelBenchHost.IsGpu);
        _x = KernelBenchHost.Backend.FromHost(new float[m * k], m, k);
        _w = new Parameter($"{Shape}.weight", [n, k], GeneratedWeights.Generate($"{Shape}.weight", [n, k], 0));
        _b = new Parameter($"{Shape}.bias", [n], GeneratedWeights.Generate($"{Shape}.bias", [n], 0));
        KernelBenchHost.Backend.Linear(_x, _w, _b, Activation.Gelu);
        KernelBenchHost.Backend.Synchronize();
    }

    /// <summary>One Linear + GELU, synchronised.</summary>
    [Benchmark]
    public Tensor Linear()
    {
        var y = KernelBenchHost.Backend.Linear(_x, _w, _b, Activation.Gelu);
        KernelBenchHost.Backend.Synchronize();
        y.Dispose();
        return y;
    }
}
