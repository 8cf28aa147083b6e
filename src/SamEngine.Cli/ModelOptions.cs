using System.CommandLine;
using SamEngine.Config;
using SamEngine.Modeling;
using SamEngine.Parity;

namespace SamEngine.Cli;

/// <summary>The <c>--model</c>, <c>--arch</c>, <c>--backend</c> and <c>--precision</c> options of the verbs that run a model.</summary>
public sealed class ModelOptions
{
    /// <summary><c>--model M</c>: the checkpoint; <c>demo</c>, the shipped model, when not given.</summary>
    public Option<string> Model { get; } = CliOptions.Parsed("--model", "M",
        "a .safetensors checkpoint (official or converted names), an official PyTorch .pth,\n" +
        "demo (the shipped model, trained on synthetic shapes only) or generated:<preset>[:<seed>]",
        ModelSource.Default, model => model);

    /// <summary><c>--arch A</c>: a preset or JSON file; null to take it from the checkpoint.</summary>
    public Option<string?> Arch { get; } = ArchOption(
        $"architecture: a preset ({Presets}) or a JSON file (cases.json accepted);\ndefault: the file's sam_architecture metadata, else inferred from the shapes");

    /// <summary>The preset names, comma-separated, for help texts.</summary>
    public static string Presets => string.Join(", ", SamArchitecture.PresetNames);

    /// <summary><c>--backend NAME</c>.</summary>
    public Option<string> Backend { get; } = BackendOption();

    /// <summary><c>--precision P</c>: fp32 by default.</summary>
    public Option<Precision> Precision { get; } = PrecisionOption();

    /// <summary>Adds the four options to <paramref name="verb"/>.</summary>
    public ModelOptions(Command verb)
    {
        verb.Add(Model);
        verb.Add(Arch);
        verb.Add(Backend);
        verb.Add(Precision);
    }

    /// <summary>A <c>--precision P</c> option, <c>fp32</c> by default; an unknown name is a parse error.</summary>
    public static Option<Precision> PrecisionOption() =>
        CliOptions.Parsed("--precision", "P",
            "fp32 | fp16 | int8: fp16 stores activations as fp16 on an ILGPU backend (compute in fp32);\n"
            + "int8 runs SAM 1's ViT encoder's linear layers in int8 on the cpu backend (README 'Low precision (int8)')",
            Parity.Precision.Fp32, ParsePrecision);

    /// <summary>Reads a <c>--precision</c> value.</summary>
    public static Precision ParsePrecision(string text) =>
        PrecisionNames.Parse(text) ?? throw new FormatException($"unknown precision '{text}' ({PrecisionNames.List})");

    /// <summary>An <c>--arch A</c> option with this description.</summary>
    public static Option<string?> ArchOption(string description) => CliOptions.Text("--arch", "A", description);

    /// <summary>A <c>--backend NAME</c> option, <c>auto</c> by default; an unknown name is a parse error.</summary>
    public static Option<string> BackendOption() =>
        CliOptions.Parsed("--backend", "NAME", string.Join(" | ", BackendFactory.Names.Skip(1).Append("auto")), "auto",
            name => BackendFactory.Names.Contains(name) ? name
                : throw new FormatException($"unknown backend '{name}' (expected one of {string.Join(", ", BackendFactory.Names)})"));

    /// <summary>Reads <c>--arch</c>: a preset name or a JSON file; null when not given.</summary>
    public static SamArchitecture? Architecture(string? arch, string verb)
    {
        if (arch is null) return null;
        if (SamArchitecture.PresetNames.Contains(arch)) return SamArchitecture.FromPreset(arch);
        if (!File.Exists(arch)) throw new UsageException($"{verb}: --arch '{arch}' is neither a preset ({string.Join(", ", SamArchitecture.PresetNames)}) nor an existing JSON file");
        return SamArchitecture.FromJson(File.ReadAllText(arch));
    }

    /// <summary>Loads the model; warns on <paramref name="stderr"/> that generated weights give meaningless masks.</summary>
    public SamModel Load(ParseResult parsed, TextWriter stderr)
    {
        string model = parsed.GetRequiredValue(Model);
        var arch = Architecture(parsed.GetValue(Arch), parsed.CommandResult.Command.Name);
        var backend = BackendFactory.Create(parsed.GetRequiredValue(Backend), parsed.GetValue(Precision), stderr);
        if (ModelSource.IsGenerated(model))
            stderr.WriteLine($"samengine: notice: {model} is seeded random weights for testing; its masks are meaningless (convert an official checkpoint for real results)");
        var loaded = SamModel.Load(model, arch, backend, disposeBackend: true);
        try { RequireVitForInt8(parsed.GetValue(Precision), loaded.Architecture, parsed.CommandResult.Command.Name); }
        catch
        {
            loaded.Dispose();
            throw;
        }
        return loaded;
    }

    /// <summary>
    /// Refuses <c>--precision int8</c> for a model whose encoder it does not cover: int8 runs SAM 1's ViT
    /// blocks only (SAM 2.1's Hiera lost too many mask pixels in int8, 98.3 % equal on sam2.1_tiny).
    /// </summary>
    public static void RequireVitForInt8(Precision precision, SamArchitecture a, string verb)
    {
        if (precision != Parity.Precision.Int8 || (a.Family != ModelFamily.Sam2 && a.TinyVit is null)) return;
        throw new UsageException($"{verb}: --precision int8 covers SAM 1's ViT encoder only, not {(a.Family == ModelFamily.Sam2 ? "SAM 2.1's Hiera" : "MobileSAM's TinyViT")} (use fp32)");
    }
}
