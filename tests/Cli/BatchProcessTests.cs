using System.Diagnostics;
using SamEngine.Batch;
using SamEngine.Tests.Batch;

namespace SamEngine.Tests.Cli;

/// <summary>The batch as a process of its own: killed and started again, and sharded by a scheduler's environment.</summary>
public sealed class BatchProcessTests() : TempDirectoryTests("samengine-batchproc-")
{
    private string Images => Path.Combine(TempDir, "images");

    private string Out(string name) => Path.Combine(TempDir, name);

    /// <summary>More points than the other tests, so that each image takes long enough to be killed amid the run.</summary>
    private string[] Amg(string outDir) =>
        ["amg", .. BatchCommandTests.Tiny, "--points-per-side", "8", "--pred-iou-thresh", "0", "--stability-score-thresh", "0", "--images", Images, "--out", outDir, "--format", "coco"];

    [Fact]
    public void AKilledRunStartedAgainEndsWithTheOutputsOfAnUninterruptedRun()
    {
        var keys = BatchDataset.Write(Images, 10, corrupt: true);
        var whole = CliProcess.Run(Amg(Out("whole")));
        Assert.True(whole.Code == 1, whole.Err);

        string manifest = Path.Combine(Out("resumed"), "manifest.jsonl");
        int linesAtKill;
        using (var process = Process.Start(CliProcess.StartInfo(Amg(Out("resumed"))))!)
        {
            process.ErrorDataReceived += (_, _) => { };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            // SIGKILL once a few images are recorded: the run is mid-way, images decoded, in the model and being written.
            var watch = Stopwatch.StartNew();
            while (Lines(manifest) < 3 && !process.HasExited && watch.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(5);
            Assert.False(process.HasExited, "the batch finished before it could be killed");
            process.Kill();
            process.WaitForExit();
            linesAtKill = Lines(manifest);
        }
        Assert.InRange(linesAtKill, 3, keys.Count - 1);
        Assert.False(File.Exists(Path.Combine(Out("resumed"), "coco.json")));

        var resumed = CliProcess.Run(Amg(Out("resumed")));
        Assert.True(resumed.Code == 1, resumed.Err);
        // Images recorded done before the kill are not redone (broken.jpg, recorded skipped, is tried again: it may have been fixed).
        Assert.Contains($"({linesAtKill - 1} by an earlier run)", resumed.Out);
        Assert.Equal(BatchDataset.Outputs(Out("whole")), BatchDataset.Outputs(Out("resumed")));
        Assert.Equal(BatchDataset.Manifest(Out("whole")), BatchDataset.Manifest(Out("resumed")));
        Assert.Equal(keys.Count, BatchDataset.Manifest(Out("resumed")).Count);
    }

    private static int Lines(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Count(c => c == '\n');
        }
        catch (IOException) { return 0; }
    }

    [Fact]
    public void TheShardComesFromSlurmOrAnIndexedJob()
    {
        BatchDataset.Write(Images, 4);
        string[] Args(string outDir) => [.. BatchCommandTests.Amg, "--images", Images, "--out", outDir];
        var slurm = CliProcess.Run(Args(Out("slurm")), ("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "3"));
        Assert.True(slurm.Code == 0, slurm.Err);
        Assert.Contains("amg: 1 images (shard 2/3)", slurm.Out);
        Assert.Equal(["img03.png"], Manifest.Read(Path.Combine(Out("slurm"), "manifest.jsonl")).Keys);

        var k8s = CliProcess.Run([.. Args(Out("k8s")), "--shards", "2"], ("JOB_COMPLETION_INDEX", "1"));
        Assert.True(k8s.Code == 0, k8s.Err);
        Assert.Contains("amg: 2 images (shard 1/2)", k8s.Out);
        Assert.Equal(["img01.png", "sub/img02.png"], Manifest.Read(Path.Combine(Out("k8s"), "manifest.jsonl")).Keys.Order(StringComparer.Ordinal));

        var noShards = CliProcess.Run(Args(Out("x")), ("JOB_COMPLETION_INDEX", "1"));
        Assert.Equal((1, "samengine: error: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give --shards N, the Job's completions\n"), (noShards.Code, noShards.Err));

        var explicitShard = CliProcess.Run([.. Args(Out("explicit")), "--shard", "0/4"], ("JOB_COMPLETION_INDEX", "1"));
        Assert.Contains("amg: 1 images (shard 0/4)", explicitShard.Out); // --shard wins over the environment
    }
}
