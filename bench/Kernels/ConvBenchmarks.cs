using BenchmarkDotNet.Attributes;
using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Bench.Kernels;

/// <summary>Conv2d as an implicit GEMM (patch embedding, neck 3x3) and the decoder's 2x2 transposed conv fused with LayerNorm2d and GELU.</summary>
public class ConvBenchmarks : IShapedBenchmark
{
    private Tensor _x = null!;
    private Parameter _w = null!, _b = null!;
    private ChannelNorm _norm = null!;

    /// <summary>Shape name.</summary>
    [Params("vitb_patch_embed", "neck_conv3x3", "decoder_upscale")]
    public string Shape { get; set; } = "";

    // (input H, W, Cin, Cout, kernel, stride, padding); kernel 0 marks the transposed conv.
    private static (int H, int W, int Cin, int Cout, int K, int Stride, int Pad) Size(string shape) => (shape, KernelBenchHost.IsGpu) switch
    {
        ("vitb_patch_embed", true) => (1024, 1024, 3, 768, 16, 16, 0),
        ("neck_conv3x3", true) => (64, 64, 256, 256, 3, 1, 1),
        ("decoder_upscale", true) => (64, 64, 256, 64, 0, 2, 0),
        ("vitb_patch_embed", false) => (128, 128, 3, 96, 16, 16, 0),
        ("neck_conv3x3", false) => (8, 8, 32, 32, 3, 1, 1),
        ("decoder_upscale", false) => (8, 8, 32, 8, 0, 2, 0),
        _ => throw new ArgumentException($"unknown conv shape '{shape}'"),
    };

    /// <inheritdoc />
    public static (double, string) Work(string shape)
    {
        var s = Size(shape);
        if (s.K == 0) return (2.0 * s.H * s.W * 4 * s.Cin * s.Cout, "FLOP");
        int ho = (s.H + 2 * s.Pad - s.K) / s.Stride + 1, wo = (s.W + 2 * s.Pad - s.K) / s.Stride + 1;
        return (2.0 * ho * wo * s.K * s.K * s.Cin * s.Cout, "FLOP");
    }

    /// <summary>Uploads inputs and weights once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var s = Size(Shape);
        _x = KernelBenchHost.Backend.FromHost(new float[s.H * s.W * s.Cin], 1, s.H, s.W, s.Cin);
        int[] wShape = s.K == 0 ? [s.Cin, s.Cout, 2, 2] : [s.Cout, s.Cin, s.K, s.K];
        _w = new Parameter("conv.weight", wShape, GeneratedWeights.Generate("conv.weight", wShape, 0));
        _b = new Parameter("conv.bias", [s.Cout], GeneratedWeights.Generate("conv.bias", [s.Cout], 0));
        _norm = new ChannelNorm(new Parameter("norm.weight", [s.Cout], GeneratedWeights.Generate("norm.weight", [s.Cout], 0)),
            new Parameter("norm.bias", [s.Cout], GeneratedWeights.Generate("norm.bias", [s.Cout], 0)), 1e-6f);
        Conv().Dispose();
    }

    /// <summary>One convolution, synchronised.</summary>
    [Benchmark]
    public Tensor Conv()
    {
        var s = Size(Shape);
        var be = KernelBenchHost.Backend;
        var y = s.K == 0 ? be.ConvTranspose2x2(_x, _w, _b, _norm, Activation.Gelu) : be.Conv2d(_x, _w, _b, s.Stride, s.Pad);
        be.Synchronize();
        y.Dispose();
        return y;
    }
}
