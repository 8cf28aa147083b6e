using SamEngine.Config;
using SamEngine.Modeling;

namespace SamEngine.Cli;

/// <summary>The <c>--model</c>, <c>--arch</c> and <c>--backend</c> options shared by the verbs that run a model.</summary>
public static class ModelOptions
{
    /// <summary>The option names, to declare in a verb's parser.</summary>
    public static readonly string[] Names = ["--model", "--arch", "--backend"];

    /// <summary>The help lines describing them.</summary>
    public const string Help = """
          --model M          a .safetensors checkpoint (official or converted names), an official PyTorch .pth, or generated:<preset>[:<seed>]
          --arch A           architecture: a preset (vit_b, vit_l, vit_h) or a JSON file (cases.json accepted);
                             default: the file's sam_architecture metadata, else inferred from the shapes
          --backend NAME     cpu | ilgpu-cpu | cuda | opencl | auto (default auto)
        """;

    /// <summary>Parses <c>--arch</c>: a preset name or a JSON file; null when not given.</summary>
    public static SamArchitecture? Architecture(CliArgs args, string verb)
    {
        string? a = args.Value("--arch");
        if (a is null) return null;
        if (SamArchitecture.PresetNames.Contains(a)) return SamArchitecture.FromPreset(a);
        if (!File.Exists(a)) throw new UsageException($"{verb}: --arch '{a}' is neither a preset ({string.Join(", ", SamArchitecture.PresetNames)}) nor an existing JSON file");
        return SamArchitecture.FromJson(File.ReadAllText(a));
    }

    /// <summary>Loads the model; warns on <paramref name="stderr"/> that generated weights give meaningless masks.</summary>
    public static SamModel Load(CliArgs args, string verb, TextWriter stderr)
    {
        string model = args.Required(verb, "--model");
        var arch = Architecture(args, verb);
        var backend = BackendFactory.Create(args.Value("--backend") ?? "auto");
        if (model.StartsWith("generated:", StringComparison.Ordinal))
            stderr.WriteLine($"samengine: notice: {model} is seeded random weights for testing; its masks are meaningless (convert an official checkpoint for real results)");
        return SamModel.Load(model, arch, backend);
    }
}
