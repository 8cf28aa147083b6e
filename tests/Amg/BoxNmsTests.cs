using SamEngine.Amg;

namespace SamEngine.Tests.Amg;

public class BoxNmsTests
{
    // A and B overlap with IoU 81 / 119 = 0.681; C is apart.
    private static readonly PixelBox A = new(0, 0, 10, 10), B = new(1, 1, 11, 11), C = new(20, 20, 30, 30);

    [Fact]
    public void KeepsByDescendingScore() =>
        Assert.Equal([2, 0, 1], BoxNms.Run([A, B, C], [0.9f, 0.8f, 0.95f], 0.7));

    [Fact]
    public void SuppressesOverlapAboveTheThreshold()
    {
        Assert.Equal([2, 0], BoxNms.Run([A, B, C], [0.9f, 0.8f, 0.95f], 0.68));
        Assert.Equal([2, 1], BoxNms.Run([A, B, C], [0.7f, 0.8f, 0.95f], 0.68));
    }

    [Fact]
    public void IouEqualToTheThresholdIsKept() =>
        Assert.Equal([0, 1], BoxNms.Run([new(0, 0, 10, 10), new(0, 0, 10, 5)], [1f, 0.5f], 0.5)); // IoU exactly 0.5

    [Fact]
    public void ThresholdAboveOneKeepsEverything() =>
        Assert.Equal([0, 1, 2], BoxNms.Run([A, A, A], [0.3f, 0.2f, 0.1f], 1.01));

    [Fact]
    public void EqualScoresKeepInputOrder()
    {
        Assert.Equal([0, 2], BoxNms.Run([A, A, C], [0.5f, 0.5f, 0.5f], 0.7));
        Assert.Equal([1, 2], BoxNms.Run([A, A, C], [0.4f, 0.5f, 0.5f], 0.7));
    }

    [Fact]
    public void EmptyBoxesNeverSuppress()
    {
        var empty = new PixelBox(0, 0, 0, 0); // 0 / 0 IoU is NaN, which is not above any threshold
        Assert.Equal([0, 1], BoxNms.Run([empty, empty], [0.9f, 0.8f], 0.1));
        Assert.Empty(BoxNms.Run([], [], 0.7));
    }
}
