using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Tests.Kernels;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>
/// The CPU backend's fused forms (residual in Linear's epilogue, LayerNorm2d and activation after the
/// transposed conv) against the same ops called one by one: they are the specification.
/// </summary>
public sealed class FusedEpilogueTests
{
    private readonly CpuBackend _be = new();

    private Tensor Input(int seed, params int[] shape)
    {
        var rng = new Random(seed);
        var v = new float[ShapeUtil.Count(shape)];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return _be.FromHost(v, shape);
    }

    private static Parameter Param(string name, params int[] shape) => new(name, shape, GeneratedWeights.Generate(name, shape, 3));

    private void AssertSame(string name, Tensor expected, Tensor actual) =>
        KernelAssert.Close(name, _be.ToHost(expected), _be.ToHost(actual), expected.Shape, actual.Shape, atol: 1e-6f, rtol: 1e-6f);

    [Theory]
    [InlineData(7)]  // few rows: the small-row path
    [InlineData(40)] // 120 rows: the GEMM, residual added in its tile epilogue
    public void LinearAddsTheResidualAfterBiasAndActivation(int rows)
    {
        var x = Input(1, 3, rows, 19);
        var res = Input(2, 3, rows, 33);
        var w = Param("mlp.lin2.weight", 33, 19);
        var b = Param("mlp.lin2.bias", 33);
        foreach (var act in new[] { Activation.None, Activation.Gelu, Activation.Relu })
            AssertSame($"linear {act} + residual", _be.Add(_be.Linear(x, w, b, act), res), _be.Linear(x, w, b, act, residual: res));
    }

    [Theory]
    [InlineData(true)]  // a residual of x's shape
    [InlineData(false)] // one residual [N, C] broadcast over the batch (the decoder's shared image side)
    public void LayerNormOfXPlusResidualIsTheNormOfTheSum(bool batched)
    {
        var x = Input(4, 3, 5, 37);
        var res = batched ? Input(5, 3, 5, 37) : Input(5, 5, 37);
        var w = Param("norm.weight", 37);
        var b = Param("norm.bias", 37);
        AssertSame("layernorm(x + residual)", _be.LayerNorm(_be.Add(x, res), w, b, 1e-5f), _be.LayerNorm(x, w, b, 1e-5f, residual: res));
    }

    [Fact]
    public void LayerNormRefusesAResidualOfAnotherShape()
    {
        var w = Param("norm.weight", 8);
        var b = Param("norm.bias", 8);
        Assert.Contains("cannot add", Assert.Throws<ArgumentException>(() => _be.LayerNorm(Input(1, 2, 8), w, b, 1e-5f, residual: Input(2, 2, 3, 8))).Message);
    }

    [Fact]
    public void LinearRefusesAResidualOfAnotherShape()
    {
        var w = Param("proj.weight", 8, 5);
        Assert.Contains("residual", Assert.Throws<ArgumentException>(() => _be.Linear(Input(1, 2, 5), w, null, residual: Input(2, 2, 5))).Message);
    }

    [Fact]
    public void TransposedConvAppliesLayerNorm2dThenTheActivation()
    {
        var x = Input(3, 2, 3, 4, 8);
        var w = Param("output_upscaling.0.weight", 8, 6, 2, 2);
        var b = Param("output_upscaling.0.bias", 6);
        var norm = new ChannelNorm(Param("output_upscaling.1.weight", 6), Param("output_upscaling.1.bias", 6), 1e-6f);
        var plain = _be.ConvTranspose2x2(x, w, b);
        AssertSame("convT + norm + gelu", _be.Activate(_be.LayerNorm(plain, norm.Weight, norm.Bias, norm.Eps), Activation.Gelu),
            _be.ConvTranspose2x2(x, w, b, norm, Activation.Gelu));
        AssertSame("convT + gelu", _be.Activate(plain, Activation.Gelu), _be.ConvTranspose2x2(x, w, b, act: Activation.Gelu));
        var wrong = new ChannelNorm(Param("n.weight", 5), Param("n.bias", 5), 1e-6f);
        Assert.Contains("LayerNorm2d", Assert.Throws<ArgumentException>(() => _be.ConvTranspose2x2(x, w, b, wrong)).Message);
    }
}
