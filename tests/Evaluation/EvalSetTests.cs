using SamEngine.Evaluation;

namespace SamEngine.Tests.Evaluation;

/// <summary><see cref="EvalSet"/>: the held-out set's manifest, its files and its prompts.</summary>
public sealed class EvalSetTests
{
    /// <summary>The held-out set shipped in tests/fixtures/demo_eval.</summary>
    internal static string DemoEvalManifest => Path.Combine(TestFixtures.Local("demo_eval"), "manifest.json");

    [Fact]
    public void Shipped_set_reads_with_every_image_and_mask_matching_the_manifest()
    {
        var set = EvalSet.Load(DemoEvalManifest);
        Assert.NotEmpty(set.Scenes);
        foreach (var scene in set.Scenes)
        {
            var image = scene.LoadImage();
            Assert.Equal(scene.Width * scene.Height * 3, image.Pixels.Length);
            Assert.NotEmpty(scene.Objects);
            foreach (var obj in scene.Objects)
            {
                var mask = obj.LoadMask(scene); // checks the size and the area
                Assert.Equal(1, mask[obj.Point.Y * scene.Width + obj.Point.X]);
                // The box is the mask's inclusive bounds: a pixel on each edge, none beyond.
                var (x0, y0, x1, y1) = (obj.Box[0], obj.Box[1], obj.Box[2], obj.Box[3]);
                int Row(int y) => Enumerable.Range(0, scene.Width).Count(x => mask[y * scene.Width + x] == 1);
                int Column(int x) => Enumerable.Range(0, scene.Height).Count(y => mask[y * scene.Width + x] == 1);
                Assert.True(Row(y0) > 0 && Row(y1) > 0 && Column(x0) > 0 && Column(x1) > 0, $"{obj.MaskPath}: box edge without object pixels");
                Assert.Equal(obj.Area, Enumerable.Range(y0, y1 - y0 + 1).Sum(Row));
            }
        }
    }

    [Fact]
    public void Prompts_are_pixel_centres_and_outer_box_edges()
    {
        var obj = new EvalObject("m.png", "ring", 10, (3, 7), [2, 5, 9, 11]);
        Assert.Equal((3.5f, 7.5f, 1), obj.Click);
        Assert.Equal([2f, 5f, 10f, 12f], obj.BoxPrompt);
    }

    [Theory]
    [InlineData("""{"recipe": "r", "seed": 1}""", "no 'scenes'")]
    [InlineData("""{"recipe": "r", "seed": 1, "scenes": [{"image": "a.png", "width": 10, "height": 10, "objects": [{"mask": "m.png", "kind": "k", "area": 4, "point": [10, 2], "box": [0, 0, 1, 1]}]}]}""", "point outside the 10 x 10 image")]
    [InlineData("""{"recipe": "r", "seed": 1, "scenes": [{"image": "a.png", "width": 10, "height": 10, "objects": [{"mask": "m.png", "kind": "k", "area": 4, "point": [1, 1], "box": [3, 0, 1, 1]}]}]}""", "is not inclusive bounds")]
    [InlineData("""{"recipe": "r", "seed": 1, "scenes": [{"image": "a.png", "width": 10, "height": 10, "objects": [{"mask": "m.png", "kind": "k", "area": 4, "point": [1], "box": [0, 0, 1, 1]}]}]}""", "'point' is not 2 whole numbers")]
    [InlineData("""{"recipe": "r", "seed": 1, "scenes": [{"image": "a.png", "width": -3, "height": 10, "objects": []}]}""", "'width' is not a whole number")]
    public void Malformed_manifest_is_refused_naming_the_field(string json, string named)
    {
        string path = Path.Combine(Path.GetTempPath(), $"samengine-evalset-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try { Assert.Contains(named, Assert.Throws<InvalidDataException>(() => EvalSet.Load(path)).Message); }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Mask_whose_area_differs_from_the_manifest_is_refused()
    {
        var set = EvalSet.Load(DemoEvalManifest);
        var scene = set.Scenes[0];
        var wrong = scene.Objects[0] with { Area = scene.Objects[0].Area + 1 };
        Assert.Contains("object pixels, the manifest says", Assert.Throws<InvalidDataException>(() => wrong.LoadMask(scene)).Message);
    }
}
