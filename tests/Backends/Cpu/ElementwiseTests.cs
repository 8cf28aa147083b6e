using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The vectorised element-wise ops against their scalar definitions.</summary>
public class ElementwiseTests
{
    [Fact]
    public void VectorisedGeluMatchesExactGelu()
    {
        var x = Enumerable.Range(-4000, 8001).Select(i => i * 0.0025f).Concat([-30f, 30f, 0f, -1e-8f]).ToArray();
        var want = x.Select(MathUtil.Gelu).ToArray();
        var got = (float[])x.Clone();
        Elementwise.GeluInPlace(got);
        GemmTests.AssertClose(want, got, "gelu", atol: 3e-7f, rtol: 1e-6f);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(5, 768)]
    [InlineData(40, 1283)]
    public void LayerNormMatchesDoublePrecisionDefinition(int rows, int c)
    {
        var rng = new Random(rows * c);
        var x = GemmTests.Random(rng, rows * c).Select(v => 3 * v + 0.5f).ToArray();
        var gamma = GemmTests.Random(rng, c);
        var beta = GemmTests.Random(rng, c);
        var got = new float[rows * c];
        Elementwise.LayerNorm(x, got, rows, c, gamma, beta, 1e-6f);
        var want = new float[rows * c];
        for (int r = 0; r < rows; r++)
        {
            var xr = x.AsSpan(r * c, c).ToArray();
            double mean = xr.Average(v => (double)v), var = xr.Average(v => (v - mean) * (v - mean));
            for (int i = 0; i < c; i++) want[r * c + i] = (float)((xr[i] - mean) / Math.Sqrt(var + 1e-6) * gamma[i] + beta[i]);
        }
        GemmTests.AssertClose(want, got, $"layernorm {rows}x{c}", atol: 2e-6f, rtol: 2e-5f);
    }

    [Fact]
    public void ExpShiftedAccumulateMatchesScalarExp()
    {
        var x = GemmTests.Random(new Random(3), 37).Select(v => 20 * v).ToArray();
        x[5] = float.NegativeInfinity;
        var shift = Enumerable.Repeat(3f, 37).ToArray();
        var sum = new float[37];
        var want = x.Select(v => MathF.Exp(v - 3f)).ToArray();
        Elementwise.ExpShiftedAccumulate(x, shift, sum);
        GemmTests.AssertClose(want, x, "exp", atol: 1e-7f, rtol: 1e-6f);
        GemmTests.AssertClose(want, sum, "sum", atol: 1e-7f, rtol: 1e-6f);
    }
}
