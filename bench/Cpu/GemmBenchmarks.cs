using BenchmarkDotNet.Attributes;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Bench;

/// <summary>One GEMM of SAM at its real shape: A [M, K] times an fp16 weight [N, K]ᵀ.</summary>
public sealed record GemmCase(string Name, int M, int N, int K, Activation Act = Activation.None)
{
    /// <summary>FLOP = 2 x MAC.</summary>
    public double Flops => 2.0 * M * N * K;

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>The encoder's and decoder's GEMM shapes by name (vit_b unless the name says otherwise).</summary>
    public static readonly GemmCase[] All =
    [
        new("vitb_qkv", 4096, 2304, 768),
        new("vitb_proj", 4096, 768, 768),
        new("vitb_mlp_lin1", 4096, 3072, 768, Activation.Gelu),
        new("vitb_mlp_lin2", 4096, 768, 3072),
        new("vitb_patch_embed", 4096, 768, 768),
        new("vitb_neck_conv2", 4096, 256, 2304),
        new("vith_qkv", 4096, 3840, 1280),
        new("vith_mlp_lin1", 4096, 5120, 1280, Activation.Gelu),
        new("decoder_image_kv", 4096, 128, 256),
        // SAM 2.1 hiera_b+ at 1024: stage 1 (256 x 256 tokens, 112 channels), stage 2 (128 x 128, 224) and
        // stage 3 (64 x 64, 448: 16 of its 24 blocks, most of its time)
        new("hierabp_s1_proj", 65536, 112, 112),
        new("hierabp_s1_mlp_lin1", 65536, 448, 112, Activation.Gelu),
        new("hierabp_s1_mlp_lin2", 65536, 112, 448),
        new("hierabp_s2_proj", 16384, 224, 224),
        new("hierabp_s2_mlp_lin2", 16384, 224, 896),
        new("hierabp_s3_qkv", 4096, 1344, 448),
        new("hierabp_s3_proj", 4096, 448, 448),
        new("hierabp_s3_mlp_lin1", 4096, 1792, 448, Activation.Gelu),
        new("hierabp_s3_mlp_lin2", 4096, 448, 1792),
        // hiera_l's stage 3 (64 x 64, 576: 36 of its 48 blocks)
        new("hieral_s3_qkv", 4096, 1728, 576),
        new("hieral_s3_proj", 4096, 576, 576),
        new("hieral_s3_mlp_lin1", 4096, 2304, 576, Activation.Gelu),
        new("hieral_s3_mlp_lin2", 4096, 576, 2304),
        // MobileSAM's TinyViT stages 2-4 (no GELU twin of the lin1 cases isolates the epilogue's cost)
        new("mobilesam_s1_mbconv_expand", 65536, 256, 64, Activation.Gelu),
        new("mobilesam_s1_mbconv_project", 65536, 64, 256),
        new("mobilesam_s2_mlp_lin1", 16384, 512, 128, Activation.Gelu),
        new("mobilesam_s3_qkv", 4096, 480, 160),
        new("mobilesam_s3_mlp_lin1", 4096, 640, 160, Activation.Gelu),
        new("mobilesam_s3_mlp_lin1_nogelu", 4096, 640, 160),
        new("mobilesam_s3_mlp_lin2", 4096, 160, 640),
        new("mobilesam_s4_mlp_lin1", 4096, 1280, 320, Activation.Gelu),
    ];
}

/// <summary>
/// The packed GEMM (fp16 weights converted while packing) at SAM's shapes, and the int8 GEMM of
/// <c>--precision int8</c> on the same operands (weights quantized once in the setup, activations per
/// call; the same FLOPs counted).
/// </summary>
public class GemmBenchmarks : IFlopCounted
{
    private float[] _a = [], _c = [], _bias = [];
    private GemmRhs _b = null!;
    private Int8Weight _int8 = null!;

    [ParamsSource(nameof(Cases))]
    public GemmCase Case { get; set; } = GemmCase.All[0];

    public static IEnumerable<GemmCase> Cases => GemmCase.All;

    /// <inheritdoc />
    public double Flops => Case.Flops;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _a = Data.Random(rng, Case.M * Case.K);
        _bias = Data.Random(rng, Case.N);
        var w = Data.Random(rng, Case.N * Case.K).Select(Fp16.FromFloat).ToArray();
        _b = GemmRhs.TransposedHalf(w, Case.N, Case.K);
        _int8 = Int8Weight.Quantize(w.Select(Fp16.ToFloat).ToArray(), Case.N, Case.K);
        _c = new float[Case.M * Case.N];
    }

    [Benchmark]
    public void Gemm() => Backends.Cpu.Gemm.Multiply(Case.M, _a, 0, _b, _c, 0, _bias, Case.Act);

    [Benchmark]
    public void Int8() => Int8Gemm.Multiply(Case.M, _a, _int8, _c, _bias, Case.Act);
}
