using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine info</c>: what a model is: architecture, parameter count, dtype, size.</summary>
public static class InfoCommand
{
    /// <summary>The <c>info</c> verb.</summary>
    public static Verb Create()
    {
        var verb = new Verb("info", "a model's architecture, parameter count, dtype, size and the backend it loads on",
            "samengine info --model M [--arch A] [--json]", """
            Loads the model (checking the architecture against every tensor) and prints its architecture,
            parameter count, the dtypes of its tensors, the file size and the weight fingerprint that
            embeddings record, and the backend and device it loaded on (for the CPU: the SIMD kernels chosen).
            """);
        var model = new ModelOptions(verb);
        var json = CliOptions.Flag("--json", "print one JSON object instead");
        verb.Add(json);
        verb.SetAction(parsed => Run(parsed, model, parsed.GetValue(json), parsed.InvocationConfiguration.Output));
        return verb;
    }

    private static int Run(ParseResult parsed, ModelOptions modelOptions, bool json, TextWriter stdout)
    {
        using var model = modelOptions.Load(parsed, TextWriter.Null);
        string dtype = "F16 (generated)";
        long? size = null;
        if (SamEngine.Modeling.ModelSource.FilePath(parsed.GetRequiredValue(modelOptions.Model)) is { } path)
        {
            size = new FileInfo(path).Length;
            using var file = SamEngine.Checkpoints.CheckpointReader.Open(path); // safetensors or .pth
            dtype = string.Join(", ", file.Tensors.GroupBy(t => t.DType).OrderByDescending(g => g.Count())
                .Select(g => $"{g.Key} ({g.Count()} tensors)"));
        }
        var a = model.Architecture;
        var record = new JsonObject
        {
            ["model"] = model.Description,
            ["architecture"] = JsonNode.Parse(a.ToJson()),
            ["parameters"] = model.ParameterCount,
            ["dtype"] = dtype,
            ["file_bytes"] = size,
            ["fingerprint"] = model.Fingerprint,
            ["backend"] = model.Backend.Name,
            ["device"] = model.Backend.Device,
        };
        if (json)
        {
            stdout.WriteLine(record.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        var ci = CultureInfo.InvariantCulture;
        stdout.WriteLine($"model        {model.Description}");
        if (a.Hiera is { } h)
            stdout.WriteLine(string.Format(ci, "encoder      SAM 2.1 Hiera + FPN: embed_dim {0}, heads {1}, stages [{2}], global blocks [{3}], windows [{4}], input {5} x {5}",
                h.EmbedDim, h.NumHeads, string.Join(", ", h.Stages), string.Join(", ", h.GlobalAttBlocks), string.Join(", ", h.WindowSpec), a.ImgSize));
        else if (a.TinyVit is { } t)
            stdout.WriteLine(string.Format(ci, "encoder      MobileSAM TinyViT: embed_dims [{0}], depths [{1}], heads [{2}], windows [{3}], input {4} x {4}",
                string.Join(", ", t.EmbedDims), string.Join(", ", t.Depths), string.Join(", ", t.NumHeads), string.Join(", ", t.WindowSizes), a.ImgSize));
        else
            stdout.WriteLine(string.Format(ci, "encoder      ViT: embed_dim {0}, depth {1}, heads {2}, global blocks [{3}], window {4}, input {5} x {5}, patch {6}",
                a.EmbedDim, a.Depth, a.NumHeads, string.Join(", ", a.GlobalAttnIndexes), a.WindowSize, a.ImgSize, a.PatchSize));
        stdout.WriteLine(string.Format(ci, "decoder      prompt_embed_dim {0}, depth {1}, heads {2}, mlp {3}, {4} multimask outputs",
            a.PromptEmbedDim, a.DecoderDepth, a.DecoderHeads, a.DecoderMlpDim, a.NumMultimaskOutputs));
        stdout.WriteLine(string.Format(ci, "parameters   {0:N0} ({1:F1} M)", model.ParameterCount, model.ParameterCount / 1e6));
        stdout.WriteLine($"dtype        {dtype}");
        stdout.WriteLine(size is null ? "size         -" : string.Format(ci, "size         {0:N0} bytes ({1:F1} MiB)", size, size / 1048576.0));
        stdout.WriteLine($"fingerprint  {model.Fingerprint}");
        stdout.WriteLine($"backend      {model.Backend.Name} ({model.Backend.Device})");
        stdout.WriteLine($"architecture {a.ToJson()}");
        return 0;
    }
}
