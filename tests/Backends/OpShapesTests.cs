using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Kernels;
using SamEngine.Tests.Kernels;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends;

/// <summary>The shared shape rules every backend applies.</summary>
public sealed class OpShapesTests
{
    private static CpuTensor T(params int[] shape) => new(new float[ShapeUtil.Count(shape)], shape);

    [Fact]
    public void Add_accepts_a_suffix_and_refuses_anything_else()
    {
        OpShapes.Add(T(2, 3, 4), T(3, 4));
        Assert.Contains("cannot add", Assert.Throws<ArgumentException>(() => OpShapes.Add(T(2, 3, 4), T(4, 3))).Message);
        Assert.Contains("cannot add", Assert.Throws<ArgumentException>(() => OpShapes.Add(T(3, 4), T(1, 3, 4))).Message);
    }

    [Fact]
    public void Linear_names_the_weight()
    {
        var w = new Parameter("blocks.0.mlp.lin1.weight", [8, 5], new ushort[40]);
        Assert.Equal([2, 3, 8], OpShapes.Linear(T(2, 3, 5), w, null, Activation.None).Shape);
        Assert.Contains("'blocks.0.mlp.lin1.weight' expects 5", Assert.Throws<ArgumentException>(() => OpShapes.Linear(T(2, 4), w, null, Activation.None)).Message);
    }

    [Fact]
    public void Linear_residual_must_have_the_output_shape()
    {
        var w = new Parameter("blocks.0.mlp.lin2.weight", [5, 8], new ushort[40]);
        Assert.Equal([2, 3, 5], OpShapes.Linear(T(2, 3, 8), w, null, Activation.None, T(2, 3, 5)).Shape);
        Assert.Contains("residual", Assert.Throws<ArgumentException>(() => OpShapes.Linear(T(2, 3, 8), w, null, Activation.None, T(3, 5))).Message);
    }

    [Fact]
    public void ConvTranspose2x2_checks_weight_bias_and_fused_norm()
    {
        var w = new Parameter("output_upscaling.0.weight", [8, 4, 2, 2], new ushort[128]);
        var b = new Parameter("output_upscaling.0.bias", [4], new ushort[4]);
        var norm = new ChannelNorm(new Parameter("output_upscaling.1.weight", [4], new ushort[4]), new Parameter("output_upscaling.1.bias", [4], new ushort[4]), 1e-6f);
        Assert.Equal((1, 3, 5, 8, 4), OpShapes.ConvTranspose2x2(T(1, 3, 5, 8), w, b, norm));
        Assert.Contains("does not fit", Assert.Throws<ArgumentException>(() => OpShapes.ConvTranspose2x2(T(1, 3, 5, 7), w, b, null)).Message);
        var wrong = norm with { Weight = new Parameter("n.weight", [3], new ushort[3]) };
        Assert.Contains("LayerNorm2d", Assert.Throws<ArgumentException>(() => OpShapes.ConvTranspose2x2(T(1, 3, 5, 8), w, b, wrong)).Message);
    }

    [Fact]
    public void HieraAttention_pools_to_half_windows_that_line_up()
    {
        var b = new Parameter("blocks.1.attn.qkv.bias", [24], new ushort[24]);
        var g = OpShapes.HieraAttention(T(1, 12, 10, 24), 2, 7, poolQuery: true, b);
        Assert.Equal((6, 5, 3, 3, 2, 2), (g.OutH, g.OutW, g.QueryWindowH, g.QueryWindowW, g.WindowsY, g.WindowsX));
        Assert.Equal((5, 7, 5, 7), (OpShapes.HieraAttention(T(1, 5, 7, 24), 2, 0, false, b) is var u ? (u.OutH, u.OutW, u.WindowH, u.WindowW) : default));
        // 9 rows in windows of 8 are 2 windows, the 4 pooled rows in windows of 4 only one: upstream's unpartition breaks.
        Assert.Contains("do not line up", Assert.Throws<ArgumentException>(() => OpShapes.HieraAttention(T(1, 9, 8, 24), 2, 8, true, b)).Message);
        Assert.Contains("[1, H, W, 3C]", Assert.Throws<ArgumentException>(() => OpShapes.HieraAttention(T(12, 10, 24), 2, 4, true, b)).Message);
        Assert.Contains("qkvBias", Assert.Throws<ArgumentException>(() => OpShapes.HieraAttention(T(1, 4, 4, 12), 2, 4, true, b)).Message);
    }

    [Fact]
    public void MaxPool2x2_and_AddUpsampled2x_check_their_grids()
    {
        Assert.Equal([2, 3, 2, 5], OpShapes.MaxPool2x2(T(2, 7, 4, 5)));
        Assert.Throws<ArgumentException>(() => OpShapes.MaxPool2x2(T(2, 1, 4, 5)));
        Assert.Throws<ArgumentException>(() => OpShapes.MaxPool2x2(T(7, 4, 5)));
        Assert.Equal((2, 6, 4, 5), OpShapes.AddUpsampled2x(T(2, 6, 4, 5), T(2, 3, 2, 5)));
        Assert.Contains("does not match", Assert.Throws<ArgumentException>(() => OpShapes.AddUpsampled2x(T(2, 7, 4, 5), T(2, 3, 2, 5))).Message);
    }

    [Fact]
    public void SliceRows_and_ConcatRows_check_their_ranges()
    {
        Assert.Equal([2, 1, 4], OpShapes.SliceRows(T(2, 3, 4), 2, 1).Shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => OpShapes.SliceRows(T(2, 3, 4), 2, 2));
        Assert.Equal((2, 5, 4), OpShapes.ConcatRows([T(2, 3, 4), T(2, 2, 4)]));
        Assert.Throws<ArgumentException>(() => OpShapes.ConcatRows([T(2, 3, 4), T(1, 2, 4)]));
    }
}

/// <summary>
/// Every <see cref="IBackend"/> op refuses a wrong-rank and a wrong-size input with an
/// <see cref="ArgumentException"/> that names the op, on every backend, before it reads a dimension
/// that is not there or launches a kernel.
/// </summary>
public abstract class OpShapeErrorTests : BackendTestBase
{
    private Tensor T(params int[] shape) => Input(1, shape);

    /// <summary>(op, case, call) for each op's wrong-rank and wrong-size inputs.</summary>
    private IEnumerable<(string Op, string Case, Action Call)> Misuses()
    {
        var be = Backend;
        var lin = Param("lin.weight", 4, 6);
        var norm = (W: Param("norm.weight", 6), B: Param("norm.bias", 6));
        var conv = Param("conv.weight", 2, 3, 3, 3);
        var convT = (W: Param("up.weight", 3, 2, 2, 2), B: Param("up.bias", 2));
        var rel = (H: Param("rel_pos_h", 7, 2), W: Param("rel_pos_w", 7, 2), Bias: Param("qkv.bias", 12));
        var proj = (W: Param("q_proj.weight", 4, 6), B: Param("q_proj.bias", 4), OutW: Param("out_proj.weight", 6, 4), OutB: Param("out_proj.bias", 6));
        var up = new UpscalingWeights(Param("0.weight", 4, 3, 2, 2), Param("0.bias", 3), Param("1.weight", 3), Param("1.bias", 3), 1e-6f,
            Param("3.weight", 3, 2, 2, 2), Param("3.bias", 2));

        yield return ("FromHost", "size", () => be.FromHost(new float[5], 2, 3));
        yield return ("Reshape", "size", () => be.Reshape(T(2, 3), 4, 2));
        yield return ("Reshape", "rank", () => be.Reshape(T(2, 3), -2, -3));
        yield return ("Linear", "rank", () => be.Linear(T(), lin, null));
        yield return ("Linear", "size", () => be.Linear(T(2, 5), lin, null));
        yield return ("Linear", "bias", () => be.Linear(T(2, 6), lin, Param("lin.bias", 5)));
        yield return ("Linear", "weight rank", () => be.Linear(T(2, 6), Param("lin.weight", 6), null));
        yield return ("MatMulTransposed", "rank", () => be.MatMulTransposed(T(2, 3), T(1, 2, 3)));
        yield return ("MatMulTransposed", "size", () => be.MatMulTransposed(T(1, 2, 3), T(1, 4, 5)));
        yield return ("Add", "rank", () => be.Add(T(3), T(2, 3)));
        yield return ("Add", "size", () => be.Add(T(2, 3), T(4)));
        yield return ("LayerNorm", "rank", () => be.LayerNorm(T(), norm.W, norm.B, 1e-6f));
        yield return ("LayerNorm", "size", () => be.LayerNorm(T(2, 5), norm.W, norm.B, 1e-6f));
        yield return ("LayerNorm", "residual", () => be.LayerNorm(T(2, 6), norm.W, norm.B, 1e-6f, T(2, 5)));
        yield return ("Activate", "activation", () => be.Activate(T(2, 3), (Activation)7));
        yield return ("Conv2d", "rank", () => be.Conv2d(T(4, 4, 3), conv, null, 1, 1));
        yield return ("Conv2d", "size", () => be.Conv2d(T(1, 4, 4, 2), conv, null, 1, 1));
        yield return ("Conv2d", "kernel", () => be.Conv2d(T(1, 2, 2, 3), conv, null, 1, 0));
        yield return ("ConvTranspose2x2", "rank", () => be.ConvTranspose2x2(T(2, 2, 3), convT.W, convT.B));
        yield return ("ConvTranspose2x2", "size", () => be.ConvTranspose2x2(T(1, 2, 2, 4), convT.W, convT.B));
        yield return ("VitAttention", "rank", () => be.VitAttention(T(4, 4, 12), 2, 4, rel.H, rel.W, rel.Bias));
        yield return ("VitAttention", "size", () => be.VitAttention(T(1, 4, 4, 12), 2, 3, rel.H, rel.W, rel.Bias));
        yield return ("VitAttention", "bias", () => be.VitAttention(T(1, 4, 4, 12), 2, 4, rel.H, rel.W, Param("qkv.bias", 11)));
        yield return ("Attention", "rank", () => be.Attention(T(3, 4), T(1, 3, 4), T(1, 3, 4), 2));
        yield return ("Attention", "size", () => be.Attention(T(1, 3, 4), T(1, 3, 6), T(1, 3, 6), 2));
        yield return ("Attention", "heads", () => be.Attention(T(1, 3, 4), T(1, 3, 4), T(1, 3, 4), 3));
        yield return ("Transpose", "rank", () => be.Transpose(T(2, 3)));
        yield return ("Transpose", "rank 4", () => be.Transpose(T(1, 2, 3, 4)));
        yield return ("ConcatRows", "rank", () => be.ConcatRows(T(2, 3), T(2, 3)));
        yield return ("ConcatRows", "size", () => be.ConcatRows(T(1, 2, 3), T(1, 2, 4)));
        yield return ("SliceRows", "rank", () => be.SliceRows(T(5), 0, 1));
        yield return ("SliceRows", "size", () => be.SliceRows(T(1, 3, 2), 2, 2));
        yield return ("DensePositionalEncoding", "rank", () => be.DensePositionalEncoding(Param("gaussian", 8), 4));
        yield return ("DensePositionalEncoding", "size", () => be.DensePositionalEncoding(Param("gaussian", 3, 4), 4));
        yield return ("ImageToTokenAttention", "rank", () => be.ImageToTokenAttention(T(5, 6), proj.W, proj.B, T(1, 2, 4), T(1, 2, 4), 2, proj.OutW, proj.OutB));
        yield return ("ImageToTokenAttention", "size", () => be.ImageToTokenAttention(T(1, 5, 6), proj.W, proj.B, T(1, 2, 4), T(1, 3, 4), 2, proj.OutW, proj.OutB));
        yield return ("ImageToTokenAttention", "out", () => be.ImageToTokenAttention(T(1, 5, 6), proj.W, proj.B, T(1, 2, 4), T(1, 2, 4), 2, proj.W, proj.OutB));
        yield return ("TokenToImageAttention", "rank", () => be.TokenToImageAttention(T(2, 4), T(1, 5, 6), proj.W, proj.B, T(1, 5, 6), proj.W, proj.B, 2));
        yield return ("TokenToImageAttention", "size", () => be.TokenToImageAttention(T(1, 2, 4), T(1, 5, 6), proj.W, proj.B, T(1, 5, 5), proj.W, proj.B, 2));
        yield return ("UpscaledMaskLogits", "rank", () => be.UpscaledMaskLogits(T(2, 2, 4), up, T(1, 3, 2)));
        yield return ("UpscaledMaskLogits", "size", () => be.UpscaledMaskLogits(T(1, 2, 2, 4), up, T(1, 3, 5)));
        yield return ("UpscaledMaskLogits", "feat_s1", () => be.UpscaledMaskLogits(T(1, 2, 2, 4), up, T(1, 3, 2), T(1, 4, 4, 2), T(1, 8, 8, 2)));
        yield return ("UpscaledMaskLogits", "feat_s0", () => be.UpscaledMaskLogits(T(1, 2, 2, 4), up, T(1, 3, 2), T(1, 4, 4, 3), T(2, 8, 8, 2)));
        yield return ("UpscaledMaskLogits", "pair", () => be.UpscaledMaskLogits(T(1, 2, 2, 4), up, T(1, 3, 2), T(1, 4, 4, 3)));
    }

    [AcceleratorFact]
    public void EveryOpNamesItselfOnWrongRankOrSize()
    {
        var failures = new List<string>();
        foreach (var (op, what, call) in Misuses())
        {
            try
            {
                call();
                failures.Add($"{op} ({what}): accepted");
            }
            catch (ArgumentException e) when (e.Message.Contains(op)) { }
            catch (Exception e) { failures.Add($"{op} ({what}): {e.GetType().Name}: {e.Message}"); }
        }
        Assert.True(failures.Count == 0, $"{Backend.Name}:\n" + string.Join("\n", failures));
    }
}

/// <summary>On the managed CPU backend.</summary>
public sealed class OpShapeErrorsOnCpu : OpShapeErrorTests;

/// <summary>On ILGPU's CPU accelerator.</summary>
[Accelerator(IlgpuDeviceKind.Cpu), Collection("ilgpu")] public sealed class OpShapeErrorsOnIlgpuCpu : OpShapeErrorTests;

/// <summary>On CUDA, when present.</summary>
[Accelerator(IlgpuDeviceKind.Cuda), Collection("ilgpu")] public sealed class OpShapeErrorsOnCuda : OpShapeErrorTests;
