using SamEngine.Amg;

namespace SamEngine.Tests.Amg;

public class PointGridTests
{
    [Fact]
    public void GridOfOnePointIsTheCentre() => Assert.Equal([(0.5, 0.5)], PointGrid.Build(1));

    [Fact]
    public void PointsAreHalfAStepFromTheBordersRowByRow()
    {
        Assert.Equal([(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)], PointGrid.Build(2));
        var grid = PointGrid.Build(32);
        Assert.Equal(1024, grid.Length);
        Assert.Equal(1 / 64.0, grid[0].X);
        Assert.Equal(1 - 1 / 64.0, grid[31].X); // linspace ends exactly at its stop
        Assert.Equal(grid[1].X, grid[32].Y);
        Assert.All(grid.Skip(1).Zip(grid), p => Assert.True(p.First.X > p.Second.X || p.First.Y > p.Second.Y));
    }

    [Fact]
    public void LayersDownscaleThePointsPerSide()
    {
        Assert.Equal([64, 16, 4], PointGrid.BuildAllLayers(8, 2, 2).Select(g => g.Length));
        Assert.Equal([16, 1], PointGrid.BuildAllLayers(4, 1, 3).Select(g => g.Length)); // int(4 / 3) = 1
        Assert.Throws<ArgumentException>(() => PointGrid.BuildAllLayers(2, 1, 4)); // int(2 / 4) = 0 points
    }
}
