using SamEngine.Amg;

namespace SamEngine.Tests.Amg;

public class CropBoxesTests
{
    [Fact]
    public void TinyImageCropsOverlapByAThirdOfTheShortSide()
    {
        // 200 x 300, ratio 512/1500: overlap int(0.3413 · 200) = 68, crop w ceil((68 + 300) / 2) = 184,
        // crop h ceil((68 + 200) / 2) = 134, second x0 = 184 - 68 = 116, second y0 = 134 - 68 = 66.
        var crops = CropBoxes.Generate(200, 300, 1, 512.0 / 1500);
        Assert.Equal(
            [(new PixelBox(0, 0, 300, 200), 0), (new PixelBox(0, 0, 184, 134), 1), (new PixelBox(0, 66, 184, 200), 1),
             (new PixelBox(116, 0, 300, 134), 1), (new PixelBox(116, 66, 300, 200), 1)],
            crops);
    }

    [Fact]
    public void LayersHaveFourTimesTheCropsEachAndStayInTheImage()
    {
        var crops = CropBoxes.Generate(480, 640, 2, 512.0 / 1500);
        Assert.Equal([1, 4, 16], crops.GroupBy(c => c.Layer).Select(g => g.Count()));
        Assert.All(crops, c => Assert.True(c.Box.X0 >= 0 && c.Box.Y0 >= 0 && c.Box.X1 <= 640 && c.Box.Y1 <= 480 && c.Box.X1 > c.Box.X0 && c.Box.Y1 > c.Box.Y0));
        Assert.All(crops.Where(c => c.Layer == 2), c => Assert.True(c.Box.X1 - c.Box.X0 < 640 / 2));
    }

    [Fact]
    public void OnePixelWideImageGetsEmptyCrops()
    {
        // overlap int(0.34 · 1) = 0, crop width ceil(1 / 2) = 1: the second column of crops starts at x = 1.
        var crops = CropBoxes.Generate(40, 1, 1, 512.0 / 1500);
        Assert.Contains(crops, c => c.Box.X1 == c.Box.X0);
    }

    [Fact]
    public void BoxesNearACropEdgeThatIsNotAnImageEdgeAreFlagged()
    {
        var crop = new PixelBox(116, 0, 300, 134); // right crop of a 200 x 300 image
        Assert.True(CropBoxes.IsNearCropEdge(new PixelBox(0, 10, 50, 60), crop, 200, 300));     // at the crop's left edge
        Assert.True(CropBoxes.IsNearCropEdge(new PixelBox(20, 10, 50, 60), crop, 200, 300));    // exactly 20 px away
        Assert.False(CropBoxes.IsNearCropEdge(new PixelBox(21, 10, 50, 60), crop, 200, 300));   // 21 px away
        Assert.False(CropBoxes.IsNearCropEdge(new PixelBox(30, 0, 183, 100), crop, 200, 300));  // top and right are image edges
        Assert.True(CropBoxes.IsNearCropEdge(new PixelBox(30, 30, 100, 120), crop, 200, 300));  // bottom 134 - 120 <= 20
        Assert.False(CropBoxes.IsNearCropEdge(new PixelBox(0, 0, 299, 199), new PixelBox(0, 0, 300, 200), 200, 300)); // whole image
    }

    [Fact]
    public void XywhKeepsInclusiveWidths() => Assert.Equal([0, 0, 299, 199], new PixelBox(0, 0, 299, 199).ToXywh());
}
