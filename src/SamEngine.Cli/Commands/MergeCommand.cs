using System.CommandLine;
using SamEngine.Batch;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine merge</c>: combines the output folders of a sharded batch into one dataset.</summary>
public static class MergeCommand
{
    /// <summary>The <c>merge</c> verb.</summary>
    public static Verb Create()
    {
        var verb = new Verb("merge", "combine the output folders of a sharded batch into one dataset",
            "samengine merge OUT1 OUT2 ... --out DIR", """
            Reads the manifest.jsonl and shard.json of each shard's output folder and writes DIR/manifest.jsonl
            (every image in order, outputs as paths from DIR to the shard folders) and, for amg's sa1b and coco
            outputs, DIR/coco.json over every done image: the bytes a single run with --format coco writes.
            Lists the images that are missing (never finished), skipped or failed, and shards not given, one
            a line; exits 1 when there is any, so the shards to rerun are the ones it names.
            """);
        var shards = new Argument<string[]>("OUT") { Description = "the shards' output folders", Arity = ArgumentArity.OneOrMore };
        var outDir = CliOptions.Required("--out", "DIR", "the merged dataset's folder");
        verb.Add(shards);
        verb.Add(outDir);
        verb.SetAction(parsed =>
        {
            var stdout = parsed.InvocationConfiguration.Output;
            string dir = parsed.GetRequiredValue(outDir);
            var result = BatchMerge.Run(parsed.GetRequiredValue(shards), dir);
            foreach (var shard in result.MissingShards) stdout.WriteLine($"missing shard {shard}: no output folder given for it");
            foreach (var p in result.Problems) stdout.WriteLine($"{p.Status} {p.Image} (shard {p.Shard}){(p.Error is null ? "" : ": " + p.Error)}");
            stdout.WriteLine($"merge: {result.Images} images, {result.Done} done, {result.Problems.Count} missing, skipped or failed" +
                             $"{(result.MissingShards.Count > 0 ? $", {result.MissingShards.Count} shards not given" : "")} -> {dir}");
            return result.Complete ? 0 : 1;
        });
        return verb;
    }
}
