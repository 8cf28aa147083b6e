using System.Text.Json;
using SamEngine.Batch;
using SamEngine.Tests.Batch;
using SamEngine.Tests.Checkpoints;

namespace SamEngine.Tests.Cli;

/// <summary><c>amg</c> / <c>embed</c> <c>--images</c> and <c>merge</c> end to end on the tiny fixture and small generated images.</summary>
public sealed class BatchCommandTests() : TempDirectoryTests("samengine-batch-")
{
    internal static readonly string[] Tiny = ["--model", TestFiles.TinyModel, "--arch", TestFiles.TinyArch];

    /// <summary>Every mask made and few points: masks to check, quickly.</summary>
    internal static readonly string[] Amg = ["amg", .. Tiny, "--points-per-side", "4", "--pred-iou-thresh", "0", "--stability-score-thresh", "0"];

    private string Images => Path.Combine(TempDir, "images");

    private string Out(string name = "out") => Path.Combine(TempDir, name);

    [Fact]
    public void ACorruptImageIsRecordedAndSkippedAndTheRestAreDoneThenExit1()
    {
        var keys = BatchDataset.Write(Images, 5, corrupt: true);
        var (code, stdout, stderr) = CliRunner.Run([.. Amg, "--images", Images, "--out", Out()]);
        Assert.Equal(1, code);
        Assert.Contains("amg: 6 images: 5 done (0 by an earlier run), 1 skipped, 0 failed", stdout);
        var manifest = Manifest.Read(Path.Combine(Out(), "manifest.jsonl"));
        Assert.Equal(keys, manifest.Keys.Order(StringComparer.Ordinal));
        var broken = manifest["broken.jpg"];
        Assert.Equal((ImageStatus.Skipped, null, null), (broken.Status, broken.Output, broken.Masks));
        Assert.Contains("broken.jpg", broken.Error);
        foreach (var key in keys.Where(k => k != "broken.jpg"))
        {
            var e = manifest[key];
            Assert.Equal((ImageStatus.Done, BatchFormat.Sa1b.OutputName(key)), (e.Status, e.Output));
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out(), e.Output!)));
            Assert.Equal(key, doc.RootElement.GetProperty("image").GetProperty("file_name").GetString());
            Assert.Equal(e.Masks, doc.RootElement.GetProperty("annotations").GetArrayLength());
            Assert.True(e.Masks > 0);
        }
        // Not a terminal: one JSON line per image on stderr, after the model's notice.
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')).ToList();
        Assert.Equal(6, lines.Count);
        using var last = JsonDocument.Parse(lines[^1]);
        Assert.Equal(6, last.RootElement.GetProperty("finished").GetInt32());
        Assert.Equal(6, last.RootElement.GetProperty("to_do").GetInt32());
        Assert.True(last.RootElement.GetProperty("images_per_hour").GetDouble() > 0);
        Assert.Equal(0, last.RootElement.GetProperty("eta_seconds").GetDouble());
        Assert.Empty(Directory.GetFiles(Out(), "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void FailFastStopsAtTheFirstBadImage()
    {
        BatchDataset.Write(Images, 5, corrupt: true); // broken.jpg sorts first
        var (code, stdout, _) = CliRunner.Run([.. Amg, "--images", Images, "--out", Out(), "--fail-fast"]);
        Assert.Equal(1, code);
        Assert.Contains("0 done (0 by an earlier run), 1 skipped, 0 failed, 5 not tried (--fail-fast)", stdout);
        Assert.Equal(["broken.jpg"], Manifest.Read(Path.Combine(Out(), "manifest.jsonl")).Keys);
    }

    [Fact]
    public void ARerunSkipsWhatIsDoneAndRedoesWhatIsMissing()
    {
        BatchDataset.Write(Images, 4);
        Assert.Equal(0, CliRunner.Run([.. Amg, "--images", Images, "--out", Out()]).Code);
        string manifest = Path.Combine(Out(), "manifest.jsonl");
        var first = BatchDataset.Outputs(Out());
        string lines = File.ReadAllText(manifest);
        var rerun = CliRunner.Run([.. Amg, "--images", Images, "--out", Out()]);
        Assert.Equal(0, rerun.Code);
        Assert.Contains("4 done (4 by an earlier run)", rerun.Out);
        Assert.Equal(lines, File.ReadAllText(manifest)); // nothing redone, nothing appended

        // An output lost after its line was written (e.g. not yet on disk at a power cut) is made again.
        File.Delete(Path.Combine(Out(), "img01.json"));
        var again = CliRunner.Run([.. Amg, "--images", Images, "--out", Out()]);
        Assert.Contains("4 done (3 by an earlier run)", again.Out);
        Assert.Equal(first, BatchDataset.Outputs(Out()));
    }

    [Fact]
    public void ShardsMergedEqualASingleRun()
    {
        BatchDataset.Write(Images, 7, corrupt: true);
        Assert.Equal(1, CliRunner.Run([.. Amg, "--images", Images, "--out", Out("single"), "--format", "coco"]).Code);
        var shardDirs = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            shardDirs.Add(Out($"shard{i}"));
            var (code, stdout, _) = CliRunner.Run([.. Amg, "--images", Images, "--out", shardDirs[^1], "--shard", $"{i}/3"]);
            Assert.Equal(i == 0 ? 1 : 0, code); // broken.jpg is image 0 of the sorted list: shard 0's
            Assert.Contains($"(shard {i}/3)", stdout);
        }
        var merge = CliRunner.Run(["merge", .. shardDirs, "--out", Out("merged")]);
        Assert.Equal(1, merge.Code);
        Assert.StartsWith("skipped broken.jpg (shard 0/3): image '", merge.Out);
        Assert.Contains("merge: 8 images, 7 done, 1 missing, skipped or failed -> ", merge.Out);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Out("single"), "coco.json")), File.ReadAllBytes(Path.Combine(Out("merged"), "coco.json")));
        Assert.Equal(BatchDataset.Manifest(Out("single")).Select(l => l.Split(' ')[..2]), BatchDataset.Manifest(Out("merged")).Select(l => l.Split(' ')[..2]));
        using var coco = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out("merged"), "coco.json")));
        Assert.Equal(7, coco.RootElement.GetProperty("images").GetArrayLength());
        // The merged manifest points at the shards' outputs.
        foreach (var e in Manifest.Read(Path.Combine(Out("merged"), "manifest.jsonl")).Values.Where(e => e.Output is not null))
            Assert.True(File.Exists(Path.Combine(Out("merged"), e.Output!)), e.Output);
    }

    [Fact]
    public void MergeListsImagesAShardNeverFinishedAndShardsNotGiven()
    {
        BatchDataset.Write(Images, 4);
        Assert.Equal(0, CliRunner.Run([.. Amg, "--images", Images, "--out", Out("s0"), "--shard", "0/3"]).Code);
        Assert.Equal(0, CliRunner.Run([.. Amg, "--images", Images, "--out", Out("s1"), "--shard", "1/3"]).Code);
        File.Delete(Path.Combine(Out("s1"), "img01.json"));
        var (code, stdout, _) = CliRunner.Run(["merge", Out("s0"), Out("s1"), "--out", Out("merged")]);
        Assert.Equal(1, code);
        Assert.Contains("missing shard 2/3: no output folder given for it", stdout);
        Assert.Contains("missing img01.png (shard 1/3)", stdout);
        var e = CliRunner.Run(["merge", Out("s0"), Out("s0"), "--out", Out("m2")]);
        Assert.Equal(1, e.Code);
        Assert.Contains("are both shard 0/3", e.Err);
    }

    [Fact]
    public void AmgFolderWritesAPngPerMaskAndMetadata()
    {
        BatchDataset.Write(Images, 2);
        Assert.Equal(0, CliRunner.Run([.. Amg, "--images", Images, "--out", Out(), "--format", "amg-folder"]).Code);
        var e = Manifest.Read(Path.Combine(Out(), "manifest.jsonl"))["img00.png"];
        Assert.Equal("img00", e.Output);
        var csv = File.ReadAllLines(Path.Combine(Out(), "img00", "metadata.csv"));
        Assert.Equal(SamEngine.Batch.AmgFolder.Header, csv[0]);
        Assert.Equal(e.Masks, csv.Length - 1);
        Assert.Equal(e.Masks, Directory.GetFiles(Path.Combine(Out(), "img00"), "*.png").Length);
    }

    [Fact]
    public void EmbedWritesTheSameEmbeddingAsTheSingleImageForm()
    {
        BatchDataset.Write(Images, 3);
        var (code, stdout, stderr) = CliRunner.Run(["embed", .. Tiny, "--images", Path.Combine(Images, "**", "*.png"), "--out", Out()]);
        Assert.True(code == 0, stderr);
        Assert.Contains("embed: 3 images: 3 done", stdout);
        Assert.Equal(0, CliRunner.Run(["embed", .. Tiny, "--image", Path.Combine(Images, "sub", "img02.png"), "--out", Out("one.safetensors")]).Code);
        Assert.Equal(File.ReadAllBytes(Out("one.safetensors")), File.ReadAllBytes(Path.Combine(Out(), "sub", "img02.safetensors")));
        Assert.Null(Manifest.Read(Path.Combine(Out(), "manifest.jsonl"))["img00.png"].Masks);
    }

    [Fact]
    public void AnUnwritableOutputFolderIsOneError()
    {
        BatchDataset.Write(Images, 2);
        File.WriteAllText(Out("file"), "x");
        var (code, stdout, stderr) = CliRunner.Run([.. Amg, "--images", Images, "--out", Path.Combine(Out("file"), "sub")]);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"samengine: error: cannot write to output folder '{Path.Combine(Out("file"), "sub")}': ", stderr.Split('\n').Last(l => l.Length > 0));
        Assert.Single(stderr.Split('\n'), l => l.StartsWith("samengine: error:"));
    }

    [Theory]
    [InlineData("--image|x.png|--images|dir", "amg: give --image IMG or --images DIR|LIST.txt|GLOB, not both")]
    [InlineData("--out|o", "amg: option '--image' or '--images' is required")]
    [InlineData("--image|x.png|--shard|0/2", "amg: --shard goes with --images (a batch), not --image")]
    [InlineData("--images|dir|--overlay|o.png", "amg: --overlay goes with --image (one image), not --images")]
    [InlineData("--images|dir|--output-mode|binary_mask", "amg: --output-mode goes with --image (one image), not --images")]
    [InlineData("--images|dir|--format|png", "amg: unknown --format 'png' (sa1b, amg-folder, coco)")]
    [InlineData("--images|dir|--shard|3/3", "amg: --shard needs I/N with 0 <= I < N (e.g. 0/4), got '3/3'")]
    public void WrongCombinationsAreUsageErrors(string args, string error)
    {
        var list = args.Split('|').ToList();
        if (!list.Contains("--out")) list.AddRange(["--out", Out()]);
        var (code, _, stderr) = CliRunner.Run([.. Amg, .. list]);
        Assert.Equal((2, $"samengine: error: {error}\n"), (code, stderr));
        Assert.False(Directory.Exists(Out()));
    }
}
