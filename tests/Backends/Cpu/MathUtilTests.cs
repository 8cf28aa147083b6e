using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

public sealed class MathUtilTests
{
    // erf values from the closed forms' standard tables (Abramowitz & Stegun 7.1), 15+ digits.
    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.1, 0.1124629160182849)]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(1.0, 0.8427007929497149)]
    [InlineData(2.0, 0.9953222650189527)]
    [InlineData(3.0, 0.9999779095030014)]
    [InlineData(4.5, 0.9999999998033839)]
    [InlineData(-1.0, -0.8427007929497149)]
    public void Erf_matches_tables(double x, double expected) => Assert.Equal(expected, MathUtil.Erf(x), 1e-14);

    [Fact]
    public void Erf_is_continuous_at_the_branch_points()
    {
        foreach (double b in new[] { 0.5, 4.0 })
            Assert.Equal(MathUtil.Erf(b - 1e-12), MathUtil.Erf(b + 1e-12), 1e-11);
    }

    [Fact]
    public void Gelu_is_exact_not_tanh()
    {
        // exact GELU(1) = 0.8413447460685429; the tanh approximation gives 0.8411919906082768.
        Assert.Equal(0.8413447f, MathUtil.Gelu(1f), 6);
        Assert.Equal(0f, MathUtil.Gelu(-30f));
        Assert.Equal(30f, MathUtil.Gelu(30f));
    }
}
