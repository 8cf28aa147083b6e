using System.Runtime.Intrinsics;
using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The AVX-512 piecewise-polynomial GELU against the double-precision definition.</summary>
public class GeluTableTests
{
    [Fact]
    public void Interpolation_reproduces_a_polynomial_of_its_degree()
    {
        double[] want = [0.3, -1.25, 2.0, 0.5, -0.75];
        var got = GeluTable.Interpolate(u => want[0] + u * (want[1] + u * (want[2] + u * (want[3] + u * want[4]))));
        for (int k = 0; k < want.Length; k++) Assert.True(Math.Abs(got[k] - want[k]) < 1e-12, $"coefficient {k}: {got[k]} instead of {want[k]}");
    }

    [Avx512Fact]
    public void Gelu_is_within_float_rounding_of_the_exact_form_on_every_interval()
    {
        // Dense over both signs of the table's range, every interval edge and just past the range.
        float width = GeluTable.Range / GeluTable.Intervals;
        var x = Enumerable.Range(-70000, 140001).Select(i => i * 1e-4f)
            .Concat(Enumerable.Range(0, GeluTable.Intervals + 1).SelectMany(i => new[] { i * width, -i * width, MathF.BitIncrement(i * width), MathF.BitDecrement(-i * width) }))
            .ToList();
        while (x.Count % 16 != 0) x.Add(7.5f);
        var got = new float[x.Count];
        for (int i = 0; i < x.Count; i += 16)
            GeluTable.Gelu(Vector512.Create(x.GetRange(i, 16).ToArray())).CopyTo(got.AsSpan(i, 16));
        double worst = 0;
        float worstAt = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double exact = 0.5 * x[i] * (1 + MathUtil.Erf(x[i] / Math.Sqrt(2))), err = Math.Abs(got[i] - exact) / (1e-7 + 1e-6 * Math.Abs(exact));
            if (err > worst) (worst, worstAt) = (err, x[i]);
        }
        // Error in units of 1e-7 + 1e-6 |GELU|, a third of the tolerance the erfc formula is held to.
        Assert.True(worst <= 1, $"error {worst:F2} units at x = {worstAt}");
    }
}

/// <summary>A fact that runs only where the CPU has AVX-512 (the table GELU's permutes), and says so when skipped.</summary>
public sealed class Avx512FactAttribute : FactAttribute
{
    public Avx512FactAttribute()
    {
        if (!GeluTable.IsSupported) Skip = "this CPU has no AVX-512";
    }
}
