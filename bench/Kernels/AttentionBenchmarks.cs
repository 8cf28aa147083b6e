using BenchmarkDotNet.Attributes;
using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Bench.Kernels;

/// <summary>The flash-style attention kernel: ViT windowed / global blocks and the decoder's cross attentions.</summary>
public class AttentionBenchmarks : IShapedBenchmark
{
    private Tensor _qkv = null!, _q = null!, _k = null!;
    private Parameter _relH = null!, _relW = null!, _bias = null!;

    /// <summary>Shape name (see <see cref="KernelShapes"/>).</summary>
    [Params("window14_attn", "global_attn_4096", "vith_window14_attn", "decoder_token_to_image", "decoder_image_to_token")]
    public string Shape { get; set; } = "";

    private bool IsDecoder => Shape.StartsWith("decoder", StringComparison.Ordinal);

    /// <inheritdoc />
    public static (double, string) Work(string shape)
    {
        bool gpu = KernelBenchHost.IsGpu;
        if (shape.StartsWith("decoder", StringComparison.Ordinal))
        {
            var (b, nq, nk, c, _) = KernelShapes.Decoder(shape, gpu);
            return (4.0 * b * nq * nk * c, "FLOP"); // QKᵀ and PV
        }
        var (g, heads, hd, win) = KernelShapes.Vit(shape, gpu);
        int w = win > 0 ? win : g, windows = (g + w - 1) / w;
        double tokens = (double)w * w;
        return (4.0 * windows * windows * heads * tokens * tokens * hd, "FLOP");
    }

    /// <summary>Uploads inputs once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var be = KernelBenchHost.Backend;
        bool gpu = KernelBenchHost.IsGpu;
        if (IsDecoder)
        {
            var (b, nq, nk, c, _) = KernelShapes.Decoder(Shape, gpu);
            _q = be.FromHost(new float[b * nq * c], b, nq, c);
            _k = be.FromHost(new float[b * nk * c], b, nk, c);
        }
        else
        {
            var (g, heads, hd, win) = KernelShapes.Vit(Shape, gpu);
            int w = win > 0 ? win : g, c = heads * hd;
            _qkv = be.FromHost(new float[g * g * 3 * c], 1, g, g, 3 * c);
            _relH = Param("rel_pos_h", 2 * w - 1, hd);
            _relW = Param("rel_pos_w", 2 * w - 1, hd);
            _bias = Param("qkv.bias", 3 * c);
        }
        Run().Dispose();
    }

    private static Parameter Param(string name, params int[] shape) => new(name, shape, GeneratedWeights.Generate(name, shape, 0));

    private Tensor Run()
    {
        var be = KernelBenchHost.Backend;
        Tensor y = IsDecoder
            ? be.Attention(_q, _k, _k, KernelShapes.Decoder(Shape, KernelBenchHost.IsGpu).Heads)
            : be.VitAttention(_qkv, KernelShapes.Vit(Shape, KernelBenchHost.IsGpu).Heads, KernelShapes.Vit(Shape, KernelBenchHost.IsGpu).Window, _relH, _relW, _bias);
        be.Synchronize();
        return y;
    }

    /// <summary>One attention call, synchronised.</summary>
    [Benchmark]
    public Tensor Attention()
    {
        var y = Run();
        y.Dispose();
        return y;
    }
}
