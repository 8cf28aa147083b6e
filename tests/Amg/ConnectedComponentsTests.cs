using SamEngine.Amg;

namespace SamEngine.Tests.Amg;

public class ConnectedComponentsTests
{
    [Fact]
    public void LabelsEightConnectedRegionsWithAreas()
    {
        byte[] image =
        [
            1, 0, 0, 1,
            0, 1, 0, 1,
            0, 0, 0, 0,
            1, 1, 0, 1,
        ];
        var (labels, areas) = ConnectedComponents.Label(image, 4, 4);
        Assert.Equal([9, 2, 2, 2, 1], areas); // background, diagonal pair, right column, bottom pair, corner
        Assert.Equal([1, 0, 0, 2, 0, 1, 0, 2, 0, 0, 0, 0, 3, 3, 0, 4], labels);
    }

    [Fact]
    public void UShapeMergesIntoOneLabel()
    {
        byte[] image =
        [
            1, 0, 1,
            1, 0, 1,
            1, 1, 1,
        ];
        var (labels, areas) = ConnectedComponents.Label(image, 3, 3);
        Assert.Equal([2, 7], areas);
        Assert.All(labels.Where((_, i) => image[i] != 0), l => Assert.Equal(1, l));
    }
}
