using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The vectorised element-wise ops against their scalar definitions.</summary>
public class ElementwiseTests
{
    [Theory]
    [MemberData(nameof(GemmTests.Paths), MemberType = typeof(GemmTests))]
    internal void VectorisedGeluMatchesExactGelu(SimdPath path)
    {
        var x = Enumerable.Range(-4000, 8001).Select(i => i * 0.0025f).Concat([-30f, 30f, 0f, -1e-8f, -0f]).ToArray();
        var want = x.Select(MathUtil.Gelu).ToArray();
        var got = (float[])x.Clone();
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try { Elementwise.GeluInPlace(got); }
        finally { Gemm.ForcedPath = saved; }
        GemmTests.AssertClose(want, got, $"{path} gelu", atol: 3e-7f, rtol: 1e-6f);
    }

    [Theory]
    [MemberData(nameof(GemmTests.Paths), MemberType = typeof(GemmTests))]
    internal void VectorisedGeluOfLargeNegativeInputsIsTinyButNeverSubnormal(SimdPath path)
    {
        // erfc(|x| / √2) reaches the subnormal range near x = -13: slow on Intel cores, and no use.
        var x = Enumerable.Range(0, 4000).Select(i => -11f - i * 0.005f).ToArray();
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try { Elementwise.GeluInPlace(x); }
        finally { Gemm.ForcedPath = saved; }
        foreach (float v in x)
        {
            Assert.True(v <= 0 && v > -1e-25f, $"{path}: GELU gave {v}");
            Assert.False(float.IsSubnormal(v), $"{path}: GELU gave the subnormal {v}");
        }
    }

    [Theory]
    [MemberData(nameof(GemmTests.Paths), MemberType = typeof(GemmTests))]
    internal void ExpShiftedAccumulateMatchesScalarExp(SimdPath path)
    {
        var x = Enumerable.Range(0, 203).Select(i => (i % 17) * 0.7f - 5f).ToArray();
        x[5] = float.NegativeInfinity; // a masked score: exp gives 0
        var shift = Enumerable.Range(0, 203).Select(i => (i % 5) * 0.3f).ToArray();
        var sum = Enumerable.Range(0, 203).Select(i => i * 0.01f).ToArray();
        var wantX = x.Select((v, i) => MathF.Exp(v - shift[i])).ToArray();
        var wantSum = sum.Select((v, i) => v + wantX[i]).ToArray();
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try { Elementwise.ExpShiftedAccumulate(x, shift, sum); }
        finally { Gemm.ForcedPath = saved; }
        GemmTests.AssertClose(wantX, x, $"{path} exp", atol: 1e-30f, rtol: 1e-6f);
        GemmTests.AssertClose(wantSum, sum, $"{path} sum", atol: 0, rtol: 1e-6f);
    }

    /// <summary>Rows narrower than one vector, SAM's 768 and hiera_l's 576 channels, and odd widths that leave scalar tails.</summary>
    public static IEnumerable<object[]> LayerNormShapes() =>
        from p in GemmTests.Paths()
        from s in new[] { (1, 1), (3, 7), (5, 768), (7, 576), (40, 1283) }
        select new object[] { p[0], s.Item1, s.Item2 };

    [Theory]
    [MemberData(nameof(LayerNormShapes))]
    internal void LayerNormMatchesDoublePrecisionDefinition(SimdPath path, int rows, int c)
    {
        var rng = new Random(rows * c);
        var x = GemmTests.Random(rng, rows * c).Select(v => 3 * v + 0.5f).ToArray();
        var gamma = GemmTests.Random(rng, c);
        var beta = GemmTests.Random(rng, c);
        var got = new float[rows * c];
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try { Elementwise.LayerNorm(x, got, rows, c, gamma, beta, 1e-6f); }
        finally { Gemm.ForcedPath = saved; }
        var want = new float[rows * c];
        for (int r = 0; r < rows; r++)
        {
            var xr = x.AsSpan(r * c, c).ToArray();
            double mean = xr.Average(v => (double)v), var = xr.Average(v => (v - mean) * (v - mean));
            for (int i = 0; i < c; i++) want[r * c + i] = (float)((xr[i] - mean) / Math.Sqrt(var + 1e-6) * gamma[i] + beta[i]);
        }
        GemmTests.AssertClose(want, got, $"{path} layernorm {rows}x{c}", atol: 2e-6f, rtol: 2e-5f);
    }
}
