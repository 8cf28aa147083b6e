using SamEngine.Batch;

namespace SamEngine.Tests.Batch;

public class ShardTests
{
    private static readonly BatchImage[] Images = Enumerable.Range(1, 23).Select(i => new BatchImage($"k{i:D2}", $"/x/k{i:D2}", i)).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(30)]
    public void ShardsAreDisjointCoverTheListAndDifferByAtMostOne(int n)
    {
        var parts = Enumerable.Range(0, n).Select(i => new Shard(i, n).Select(Images)).ToList();
        Assert.Equal(Images.Select(i => i.Key).Order(StringComparer.Ordinal), parts.SelectMany(p => p).Select(i => i.Key).Order(StringComparer.Ordinal));
        Assert.True(parts.Max(p => p.Count) - parts.Min(p => p.Count) <= 1);
        // The same split every time, whatever list object holds the images.
        Assert.Equal(parts[0].Select(i => i.Key), new Shard(0, n).Select(Images.ToList()).Select(i => i.Key));
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("2/3", 2, 3)]
    public void ParsesIOfN(string text, int i, int n) => Assert.Equal(new Shard(i, n), Shard.Parse(text));

    [Theory]
    [InlineData("3/3")]
    [InlineData("-1/3")]
    [InlineData("1/0")]
    [InlineData("1")]
    [InlineData("a/b")]
    public void RefusesBadShards(string text) =>
        Assert.Equal($"--shard needs I/N with 0 <= I < N (e.g. 0/4), got '{text}'", Assert.Throws<FormatException>(() => Shard.Parse(text)).Message);

    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void DefaultsFromASlurmArrayCountedFromItsFirstTask()
    {
        Assert.Equal(new Shard(2, 3), Shard.FromEnvironment(Env(("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "3")), null));
        Assert.Equal(new Shard(0, 3), Shard.FromEnvironment(Env(("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "1")), null));
        Assert.Contains("shard out of range", Assert.Throws<ArgumentException>(() =>
            Shard.FromEnvironment(Env(("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "3")), null)).Message);
    }

    [Fact]
    public void DefaultsFromAnIndexedJobWithShards()
    {
        Assert.Equal(new Shard(4, 5), Shard.FromEnvironment(Env(("JOB_COMPLETION_INDEX", "4")), 5));
        Assert.Contains("give --shards N", Assert.Throws<ArgumentException>(() => Shard.FromEnvironment(Env(("JOB_COMPLETION_INDEX", "4")), null)).Message);
        Assert.Contains("not a whole number", Assert.Throws<ArgumentException>(() => Shard.FromEnvironment(Env(("JOB_COMPLETION_INDEX", "x")), 5)).Message);
    }

    [Fact]
    public void WithoutASchedulerTheWholeList()
    {
        Assert.Equal(Shard.All, Shard.FromEnvironment(Env(), null));
        Assert.Contains("--shards 4 needs JOB_COMPLETION_INDEX", Assert.Throws<ArgumentException>(() => Shard.FromEnvironment(Env(), 4)).Message);
    }
}
