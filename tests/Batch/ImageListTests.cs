using SamEngine.Batch;

namespace SamEngine.Tests.Batch;

public sealed class ImageListTests() : TempDirectoryTests("samengine-imagelist-")
{
    private static string Json(string key) => BatchFormat.Sa1b.OutputName(key);

    private void Touch(params string[] keys)
    {
        foreach (var key in keys)
        {
            string path = Path.Combine(TempDir, key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, [1]);
        }
    }

    [Fact]
    public void FolderIsSearchedRecursivelySortedWithoutHiddenOrOtherFilesOrTheOutputFolder()
    {
        Touch("b.jpg", "a/z.PNG", "a/c.tif", ".hidden.jpg", ".cache/x.jpg", "notes.txt", "out/a.png");
        var images = ImageList.Resolve(TempDir, Path.Combine(TempDir, "out"), Json);
        Assert.Equal(["a/c.tif", "a/z.PNG", "b.jpg"], images.Select(i => i.Key));
        Assert.Equal([1, 2, 3], images.Select(i => i.Id));
        Assert.Equal(Path.Combine(TempDir, "a", "z.PNG"), images[1].FullPath);
    }

    [Fact]
    public void ListFileTakesPathsRelativeToItselfKeyedFromTheirCommonFolder()
    {
        Touch("data/x/1.jpg", "data/y/2.jpg");
        File.WriteAllText(Path.Combine(TempDir, "list.txt"), $"# two images\ndata/y/2.jpg\n\n{Path.Combine(TempDir, "data", "x", "1.jpg")}\n");
        var images = ImageList.Resolve(Path.Combine(TempDir, "list.txt"), null, Json);
        Assert.Equal(["x/1.jpg", "y/2.jpg"], images.Select(i => i.Key));
    }

    [Fact]
    public void GlobMatchesNamesAndFoldersBelowItsFixedPart()
    {
        Touch("d/a.jpg", "d/b.png", "d/s/c.jpg", "d/s/t/e.jpg");
        Assert.Equal(["a.jpg"], ImageList.Resolve(Path.Combine(TempDir, "d", "*.jpg"), null, Json).Select(i => i.Key));
        Assert.Equal(["a.jpg", "s/c.jpg", "s/t/e.jpg"], ImageList.Resolve(Path.Combine(TempDir, "d", "**", "*.jpg"), null, Json).Select(i => i.Key));
        Assert.Equal(["s/c.jpg"], ImageList.Resolve(Path.Combine(TempDir, "d", "?", "*.jpg"), null, Json).Select(i => i.Key));
    }

    [Fact]
    public void ImagesThatWouldShareAnOutputAreRefusedByName()
    {
        Touch("a/b.jpg", "a/b.png");
        var e = Assert.Throws<ArgumentException>(() => ImageList.Resolve(TempDir, null, Json));
        Assert.Equal("images 'a/b.jpg' and 'a/b.png' would both write 'a/b.json'; rename one", e.Message);
    }

    [Fact]
    public void NothingToRunIsOneError()
    {
        Assert.Contains("names no images", Assert.Throws<ArgumentException>(() => ImageList.Resolve(TempDir, null, Json)).Message);
        Assert.Contains("is not a folder, a list file or a glob that exists",
            Assert.Throws<ArgumentException>(() => ImageList.Resolve(Path.Combine(TempDir, "nope"), null, Json)).Message);
        Touch("one.jpg");
        Assert.Contains("use --image for one image", Assert.Throws<ArgumentException>(() => ImageList.Resolve(Path.Combine(TempDir, "one.jpg"), null, Json)).Message);
    }
}
