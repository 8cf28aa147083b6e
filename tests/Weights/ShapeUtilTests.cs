using SamEngine.Weights;

namespace SamEngine.Tests.Weights;

public sealed class ShapeUtilTests
{
    [Fact]
    public void Count_is_the_product_of_the_dimensions()
    {
        Assert.Equal(1, ShapeUtil.Count([]));
        Assert.Equal(2 * 3 * 4, ShapeUtil.Count([2, 3, 4]));
        Assert.Equal(2L * int.MaxValue * int.MaxValue, ShapeUtil.Count([2, int.MaxValue, int.MaxValue]));
        // An empty dimension makes the tensor empty, however large the others.
        Assert.Equal(0, ShapeUtil.Count([int.MaxValue, int.MaxValue, int.MaxValue, 0]));
    }

    [Fact]
    public void A_negative_dimension_is_refused() =>
        // The unchecked product of [-2, -3] was a plausible 6.
        Assert.Contains("shape [-2, -3] has a negative dimension", Assert.Throws<ArgumentException>(() => ShapeUtil.Count([-2, -3])).Message);

    [Fact]
    public void A_product_beyond_long_is_refused() =>
        // 2^31·2^31·2^31 wrapped silently in long (to -2^63).
        Assert.Contains("holds more than", Assert.Throws<ArgumentException>(() => ShapeUtil.Count([int.MaxValue, int.MaxValue, int.MaxValue])).Message);
}
