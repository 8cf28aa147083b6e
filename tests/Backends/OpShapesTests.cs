using SamEngine.Backends;
using SamEngine.Backends.Cpu;
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
        Assert.Equal([2, 3, 8], OpShapes.Linear(T(2, 3, 5), w).Shape);
        Assert.Contains("'blocks.0.mlp.lin1.weight' expects 5", Assert.Throws<ArgumentException>(() => OpShapes.Linear(T(2, 4), w)).Message);
    }

    [Fact]
    public void Linear_residual_must_have_the_output_shape()
    {
        var w = new Parameter("blocks.0.mlp.lin2.weight", [5, 8], new ushort[40]);
        Assert.Equal([2, 3, 5], OpShapes.Linear(T(2, 3, 8), w, T(2, 3, 5)).Shape);
        Assert.Contains("residual", Assert.Throws<ArgumentException>(() => OpShapes.Linear(T(2, 3, 8), w, T(3, 5))).Message);
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
    public void SliceRows_and_ConcatRows_check_their_ranges()
    {
        Assert.Equal([2, 1, 4], OpShapes.SliceRows(T(2, 3, 4), 2, 1).Shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => OpShapes.SliceRows(T(2, 3, 4), 2, 2));
        Assert.Equal((2, 5, 4), OpShapes.ConcatRows([T(2, 3, 4), T(2, 2, 4)]));
        Assert.Throws<ArgumentException>(() => OpShapes.ConcatRows([T(2, 3, 4), T(1, 2, 4)]));
    }
}
