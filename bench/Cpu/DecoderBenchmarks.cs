using BenchmarkDotNet.Attributes;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Bench;

/// <summary>
/// One of the decoder's fused ops for one prompt at vit_b's shapes (64 x 64 image positions of 256
/// channels, 8 heads of 16) with <paramref name="Tokens"/> tokens (SAM 1's point or box: 7; SAM 2.1's
/// box: 9, whose 72 score columns end in a panel of 8). FLOPs are those the fused op performs (2 x MAC).
/// </summary>
public sealed record DecoderCase(string Name, int Tokens, double Flops)
{
    public const int N = 4096, D = 256, C = 128, Heads = 8, Grid = 64, C1 = 64, C2 = 32, Masks = 4;

    /// <inheritdoc />
    public override string ToString() => Name;

    public static readonly DecoderCase[] All =
    [
        ImageToToken("decoder_image_to_token", 7),
        ImageToToken("decoder_image_to_token_t9", 9),
        TokenToImage("decoder_token_to_image", 7),
        TokenToImage("decoder_token_to_image_t9", 9),
        // Two transposed convs as GEMMs and the mask product.
        new("decoder_upscaled_masks", 7, UpscalingFlops),
        // SAM 2.1's: the same with its high-resolution skips, for a batch of prompts on one image.
        new("decoder_upscaled_masks_skips_b8", 7, Batch * UpscalingFlops),
    ];

    /// <summary>Scores X·A over T·H columns, then P·V' back to D channels.</summary>
    private static DecoderCase ImageToToken(string name, int t) => new(name, t, 2.0 * N * D * t * Heads + 2.0 * N * t * Heads * D);

    /// <summary>Scoresᵀ X·Qfᵀ, then (P X)ᵀ.</summary>
    private static DecoderCase TokenToImage(string name, int t) => new(name, t, 2 * 2.0 * N * D * t * Heads);

    public const int Batch = 8;
    private const double UpscalingFlops = 2.0 * Grid * Grid * D * 4 * C1 + 2.0 * 4 * Grid * Grid * C1 * 4 * C2 + 2.0 * 16 * Grid * Grid * C2 * Masks;
}

/// <summary>The decoder's cross attention and mask upscaling on the CPU backend, per prompt (the _b8 case: a batch of 8).</summary>
public class DecoderBenchmarks : IFlopCounted
{
    private readonly CpuBackend _be = new();
    private Tensor _image = null!, _tokens = null!, _grid = null!, _hyper = null!, _grids = null!, _hypers = null!, _featS1 = null!, _featS0 = null!;
    private Parameter _wq = null!, _bq = null!, _wOut = null!, _bOut = null!;
    private UpscalingWeights _up = null!;

    [ParamsSource(nameof(Cases))]
    public DecoderCase Case { get; set; } = DecoderCase.All[0];

    public static IEnumerable<DecoderCase> Cases => DecoderCase.All;

    /// <inheritdoc />
    public double Flops => Case.Flops;

    [GlobalSetup]
    public void Setup()
    {
        const int n = DecoderCase.N, d = DecoderCase.D, c = DecoderCase.C, g = DecoderCase.Grid;
        int t = Case.Tokens;
        var rng = new Random(4);
        Parameter Half(string name, params int[] shape) =>
            new(name, shape, Data.Random(rng, (int)ShapeUtil.Count(shape)).Select(x => Fp16.FromFloat(0.1f * x)).ToArray());
        _image = _be.FromHost(Data.Random(rng, n * d), 1, n, d);
        _tokens = _be.FromHost(Data.Random(rng, t * c), 1, t, c);
        _wq = Half("q_proj.weight", c, d);
        _bq = Half("q_proj.bias", c);
        _wOut = Half("out_proj.weight", d, c);
        _bOut = Half("out_proj.bias", d);
        _grid = _be.FromHost(Data.Random(rng, g * g * d), 1, g, g, d);
        _hyper = _be.FromHost(Data.Random(rng, DecoderCase.Masks * DecoderCase.C2), 1, DecoderCase.Masks, DecoderCase.C2);
        _up = new UpscalingWeights(Half("0.weight", d, DecoderCase.C1, 2, 2), Half("0.bias", DecoderCase.C1), Half("1.weight", DecoderCase.C1),
            Half("1.bias", DecoderCase.C1), 1e-6f, Half("3.weight", DecoderCase.C1, DecoderCase.C2, 2, 2), Half("3.bias", DecoderCase.C2));
        const int b = DecoderCase.Batch;
        _grids = _be.FromHost(Data.Random(rng, b * g * g * d), b, g, g, d);
        _hypers = _be.FromHost(Data.Random(rng, b * DecoderCase.Masks * DecoderCase.C2), b, DecoderCase.Masks, DecoderCase.C2);
        _featS1 = _be.FromHost(Data.Random(rng, 4 * g * g * DecoderCase.C1), 1, 2 * g, 2 * g, DecoderCase.C1);
        _featS0 = _be.FromHost(Data.Random(rng, 16 * g * g * DecoderCase.C2), 1, 4 * g, 4 * g, DecoderCase.C2);
    }

    [Benchmark]
    public Tensor Op() => Case.Name switch
    {
        // The attention cases by kind; their token count is the case's (Setup).
        _ when Case.Name.StartsWith("decoder_image_to_token", StringComparison.Ordinal) => _be.ImageToTokenAttention(_image, _wq, _bq, _tokens, _tokens, DecoderCase.Heads, _wOut, _bOut),
        _ when Case.Name.StartsWith("decoder_token_to_image", StringComparison.Ordinal) => _be.TokenToImageAttention(_tokens, _image, _wq, _bq, _image, _wq, _bq, DecoderCase.Heads),
        "decoder_upscaled_masks_skips_b8" => _be.UpscaledMaskLogits(_grids, _up, _hypers, _featS1, _featS0),
        _ => _be.UpscaledMaskLogits(_grid, _up, _hyper),
    };
}
