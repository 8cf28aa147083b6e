using BenchmarkDotNet.Attributes;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Bench;

/// <summary>Whose attention a case runs: the ViT's (relative positions), Hiera's (none; the product scaled after it is formed) or TinyViT's (attention biases).</summary>
public enum AttentionKind
{
    Vit,
    Hiera,
    TinyVit,
}

/// <summary>An attention layer of SAM: grid, heads, head dim, window (0 = global) and kind.</summary>
public sealed record AttentionCase(string Name, int Grid, int Heads, int HeadDim, int Window, AttentionKind Kind = AttentionKind.Vit)
{
    /// <summary>Q Kᵀ and P V over all windows and heads (padded windows counted as computed), 2 x MAC.</summary>
    public double Flops
    {
        get
        {
            int side = Window > 0 ? Window : Grid, windows = Window > 0 ? (int)Math.Pow((Grid + Window - 1) / Window, 2) : 1;
            double t = (double)side * side;
            return 2.0 * 2 * t * t * HeadDim * Heads * windows;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>
    /// vit_b's windowed and global blocks, vit_h's, hiera_t's global blocks (stage 3: 64 x 64 tokens, 384
    /// channels), hiera_b+'s and hiera_l's stage-3 windowed blocks, hiera_l's global ones and its small stage-1/2 windows (head dims 56 and 72), and MobileSAM's TinyViT stages 2-4 (head dim 32).
    /// </summary>
    public static readonly AttentionCase[] All =
    [
        new("window14_attn", 64, 12, 64, 14),
        new("global_attn_4096", 64, 12, 64, 0),
        new("vith_global_attn_4096", 64, 16, 80, 0),
        new("hierat_global_attn_4096", 64, 4, 96, 0, AttentionKind.Hiera),
        new("hierabp_s3_window14_attn", 64, 8, 56, 14, AttentionKind.Hiera),
        new("hieral_s3_window16_attn", 64, 8, 72, 16, AttentionKind.Hiera),
        new("hieral_global_attn_4096", 64, 8, 72, 0, AttentionKind.Hiera),
        new("hieral_s1_window8_attn", 256, 2, 72, 8, AttentionKind.Hiera),
        new("hieral_s2_window4_attn", 128, 4, 72, 4, AttentionKind.Hiera),
        new("mobilesam_s2_window7_attn", 128, 4, 32, 7, AttentionKind.TinyVit),
        new("mobilesam_s3_window14_attn", 64, 5, 32, 14, AttentionKind.TinyVit),
        new("mobilesam_s4_window7_attn", 64, 10, 32, 7, AttentionKind.TinyVit),
    ];
}

/// <summary>The tiled online-softmax attention (the ViT's with relative positions, Hiera's without, TinyViT's with attention biases) on the CPU backend.</summary>
public class AttentionBenchmarks : IFlopCounted
{
    private readonly CpuBackend _be = new();
    private Tensor _qkv = null!, _padQkv = null!;
    private Parameter _relH = null!, _relW = null!, _bias = null!, _attentionBiases = null!;

    [ParamsSource(nameof(Cases))]
    public AttentionCase Case { get; set; } = AttentionCase.All[0];

    public static IEnumerable<AttentionCase> Cases => AttentionCase.All;

    /// <inheritdoc />
    public double Flops => Case.Flops;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(2);
        int c = Case.Heads * Case.HeadDim, side = Case.Window > 0 ? Case.Window : Case.Grid;
        _qkv = _be.FromHost(Data.Random(rng, Case.Grid * Case.Grid * 3 * c), 1, Case.Grid, Case.Grid, 3 * c);
        Parameter Half(string name, params int[] shape) =>
            new(name, shape, Data.Random(rng, (int)ShapeUtil.Count(shape)).Select(x => Fp16.FromFloat(0.1f * x)).ToArray());
        _relH = Half("rel_pos_h", 2 * side - 1, Case.HeadDim);
        _relW = Half("rel_pos_w", 2 * side - 1, Case.HeadDim);
        _bias = Half("qkv.bias", 3 * c);
        _padQkv = _be.FromHost(Data.Random(rng, 3 * c), 3 * c);
        _attentionBiases = Half("attn.attention_biases", Case.Heads, side * side);
    }

    [Benchmark]
    public Tensor Attention() => Case.Kind switch
    {
        AttentionKind.Hiera => _be.HieraAttention(_qkv, Case.Heads, Case.Window, poolQuery: false, _bias),
        AttentionKind.TinyVit => _be.TinyVitAttention(_qkv, _padQkv, Case.Heads, Case.Window, _attentionBiases),
        _ => _be.VitAttention(_qkv, Case.Heads, Case.Window, _relH, _relW, _bias),
    };
}
