using YamlDotNet.RepresentationModel;

namespace SamEngine.Tests.Deploy;

/// <summary>deploy/: the Kubernetes Indexed Job, the image it runs and the Slurm array script hold what a cluster needs (the Slurm one also runs for real: SlurmLocalTests).</summary>
public class DeployTests
{
    private static YamlMappingNode Load(string file)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(DeployFiles.Path(file));
        yaml.Load(reader);
        return (YamlMappingNode)Assert.Single(yaml.Documents).RootNode;
    }

    private static YamlNode At(YamlNode node, params string[] path) =>
        path.Aggregate(node, (n, key) => ((YamlMappingNode)n).Children.TryGetValue(new YamlScalarNode(key), out var child) ? child
            : throw new Xunit.Sdk.XunitException($"job.yaml has no '{key}' under {string.Join('.', path)}"));

    private static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;

    [Fact]
    public void IndexedJobRunsOneShardPerCompletionOnTheMountedVolume()
    {
        var job = Load("k8s/job.yaml");
        Assert.Equal(("batch/v1", "Job"), (Text(job, "apiVersion"), Text(job, "kind")));
        var spec = At(job, "spec");
        Assert.Equal("Indexed", Text(spec, "completionMode"));
        int completions = int.Parse(Text(spec, "completions"));
        Assert.Equal(completions, int.Parse(Text(spec, "parallelism")));
        Assert.Equal("Never", Text(spec, "template", "spec", "restartPolicy"));
        Assert.Equal("true", Text(spec, "template", "spec", "securityContext", "runAsNonRoot"));
        Assert.NotEqual("0", Text(spec, "template", "spec", "securityContext", "runAsUser"));

        var container = (YamlMappingNode)Assert.Single((YamlSequenceNode)At(spec, "template", "spec", "containers"));
        var args = ((YamlSequenceNode)At(container, "args")).Select(a => ((YamlScalarNode)a).Value!).ToList();
        Assert.Equal("amg", args[0]);
        string Arg(string option) => args[args.IndexOf(option) + 1];
        // The shard count matches the completions, and each index writes its own folder.
        Assert.Equal(completions.ToString(), Arg("--shards"));
        Assert.EndsWith("$(JOB_COMPLETION_INDEX)", Arg("--out"));
        var env = ((YamlSequenceNode)At(container, "env")).Cast<YamlMappingNode>().ToDictionary(e => Text(e, "name"));
        Assert.Equal("metadata.annotations['batch.kubernetes.io/job-completion-index']", Text(env["JOB_COMPLETION_INDEX"], "valueFrom", "fieldRef", "fieldPath"));
        Assert.Equal("limits.cpu", Text(env["DOTNET_PROCESSOR_COUNT"], "valueFrom", "resourceFieldRef", "resource"));

        // Model, images and outputs all lie on a mounted volume that the pod declares.
        var mounts = ((YamlSequenceNode)At(container, "volumeMounts")).Cast<YamlMappingNode>().ToList();
        var volumes = ((YamlSequenceNode)At(spec, "template", "spec", "volumes")).Cast<YamlMappingNode>().Select(v => Text(v, "name")).ToList();
        foreach (var path in new[] { Arg("--model"), Arg("--images"), Arg("--out") })
        {
            var mount = mounts.SingleOrDefault(m => path.StartsWith(Text(m, "mountPath").TrimEnd('/') + "/"));
            Assert.True(mount is not null, $"'{path}' is on no volume mount");
            Assert.Contains(Text(mount, "name"), volumes);
        }
    }

    [Fact]
    public void MergeJobMergesEveryShardOfTheIndexedJob()
    {
        int completions = int.Parse(Text(Load("k8s/job.yaml"), "spec", "completions"));
        var merge = Load("k8s/merge-job.yaml");
        var container = (YamlMappingNode)Assert.Single((YamlSequenceNode)At(merge, "spec", "template", "spec", "containers"));
        var args = ((YamlSequenceNode)At(container, "args")).Select(a => ((YamlScalarNode)a).Value!).ToList();
        Assert.Equal("merge", args[0]);
        Assert.Equal(Enumerable.Range(0, completions).Select(i => $"/data/out/shard-{i}"), args.Skip(1).TakeWhile(a => a != "--out"));
    }

    [Fact]
    public void DockerfilePublishesTheCliAndRunsItAsANonRootUser()
    {
        var lines = File.ReadAllLines(DeployFiles.Path("k8s/Dockerfile")).Where(l => !l.TrimStart().StartsWith('#')).ToList();
        Assert.Contains(lines, l => l.StartsWith("RUN dotnet publish src/SamEngine.Cli/SamEngine.Cli.csproj -c Release -o /app"));
        var user = Assert.Single(lines, l => l.StartsWith("USER "));
        Assert.DoesNotMatch(@"^USER (root|0)(:|$)", user);
        Assert.Equal("ENTRYPOINT [\"dotnet\", \"/app/SamEngine.Cli.dll\"]", lines.Last(l => l.Length > 0));
        Assert.True(lines.IndexOf(user) < lines.IndexOf(lines.Last(l => l.Length > 0)));
    }

    [Fact]
    public void SlurmScriptRunsOneShardPerArrayTaskWithTheTasksCpus()
    {
        var text = File.ReadAllText(DeployFiles.Path("slurm/samengine-array.sbatch"));
        Assert.Contains("#SBATCH --array=", text);
        Assert.Contains("export DOTNET_PROCESSOR_COUNT=\"${SLURM_CPUS_PER_TASK:-1}\"", text);
        Assert.Contains("--out \"$OUT/shard-$shard\"", text);
        Assert.DoesNotContain("--shard ", text); // the shard comes from SLURM_ARRAY_TASK_* in the environment
    }
}
