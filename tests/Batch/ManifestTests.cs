using SamEngine.Batch;

namespace SamEngine.Tests.Batch;

public sealed class ManifestTests() : TempDirectoryTests("samengine-manifest-")
{
    private string Path_ => Path.Combine(TempDir, "manifest.jsonl");

    [Fact]
    public void LinesRoundTripAndTheLastLinePerImageCounts()
    {
        using (var m = Manifest.Open(Path_))
        {
            m.Append(new ManifestEntry("a/b.jpg", ImageStatus.Failed, null, null, 0.5, "it's \"bad\""));
            m.Append(new ManifestEntry("a/c.jpg", ImageStatus.Done, "a/c.json", 7, 1.25, null));
            m.Append(new ManifestEntry("a/b.jpg", ImageStatus.Done, "a/b.json", 3, 2, null));
        }
        Assert.Equal("{\"image\":\"a/b.jpg\",\"status\":\"failed\",\"output\":null,\"masks\":null,\"seconds\":0.5,\"error\":\"it's \\\"bad\\\"\"}",
            File.ReadLines(Path_).First());
        var latest = Manifest.Read(Path_);
        Assert.Equal(new ManifestEntry("a/b.jpg", ImageStatus.Done, "a/b.json", 3, 2, null), latest["a/b.jpg"]);
        Assert.Equal(new ManifestEntry("a/c.jpg", ImageStatus.Done, "a/c.json", 7, 1.25, null), latest["a/c.jpg"]);
    }

    [Fact]
    public void ATornLastLineIsCutOffWhenOpenedAndTheNextLineStartsClean()
    {
        var done = new ManifestEntry("a.jpg", ImageStatus.Done, "a.json", 1, 1, null);
        File.WriteAllText(Path_, done.ToJson() + "\n{\"image\":\"b.jp");
        Assert.Single(Manifest.Read(Path_));
        using (var m = Manifest.Open(Path_))
        {
            Assert.Equal(["a.jpg"], m.Latest.Keys);
            m.Append(done with { Image = "b.jpg", Output = "b.json" });
        }
        Assert.Equal([done.ToJson(), (done with { Image = "b.jpg", Output = "b.json" }).ToJson()], File.ReadAllLines(Path_));
    }

    [Fact]
    public void ABrokenLineInsideIsOneErrorNamingIt()
    {
        File.WriteAllText(Path_, "{\"image\":\"a.jpg\",\"status\":\"done\"}\nnot json\n{\"image\":\"b.jpg\",\"status\":\"done\"}\n");
        var e = Assert.Throws<FormatException>(() => Manifest.Read(Path_));
        Assert.StartsWith($"'{Path_}' line 2 is not a manifest entry", e.Message);
    }
}
