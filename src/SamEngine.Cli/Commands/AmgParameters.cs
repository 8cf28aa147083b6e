using System.CommandLine;
using SamEngine.Amg;

namespace SamEngine.Cli.Commands;

/// <summary>
/// The parameters of <see cref="AutomaticMaskGeneratorOptions"/> as <c>amg</c> options, each declared
/// once here: its flag is the property's name in kebab case (the official argument's name) and its
/// default is the record's, except <c>--pred-iou-thresh</c>, whose default the model's family picks
/// (the help names both), and <c>--use-m2m</c>, a flag. <see cref="AutomaticMaskGeneratorOptions.PointGrids"/> has no flag (a list
/// of grids is not a command-line value; upstream's script has none either), and the output mode's
/// default is <c>coco_rle</c> for the JSON file (engine-contracts.md), not the record's binary mask.
/// </summary>
public sealed class AmgParameters
{
    /// <summary>The record's defaults, which every option shows and falls back to.</summary>
    public static readonly AutomaticMaskGeneratorOptions Defaults = new();

    private readonly List<(Option Option, string Property, Func<AutomaticMaskGeneratorOptions, ParseResult, AutomaticMaskGeneratorOptions> Apply)> _bindings = [];

    /// <summary>Declares every option.</summary>
    public AmgParameters()
    {
        Int(nameof(Defaults.PointsPerSide), o => o.PointsPerSide!.Value, (o, v) => o with { PointsPerSide = v },
            "points along each side of the grid of prompts (crop layer 0)");
        Int(nameof(Defaults.PointsPerBatch), o => o.PointsPerBatch, (o, v) => o with { PointsPerBatch = v },
            "points decoded together in one batch");
        // No single default: the model's family picks it (AutomaticMaskGeneratorOptions.ForFamily).
        var predIou = CliOptions.OptionalReal(Flag(nameof(Defaults.PredIouThresh)), "X",
            "drop masks whose predicted IoU is not above this (0: keep all) " +
            $"(default: {CliOptions.FormatValue(AutomaticMaskGeneratorOptions.Sam1PredIouThresh)} for SAM 1, " +
            $"{CliOptions.FormatValue(AutomaticMaskGeneratorOptions.Sam2PredIouThresh)} for SAM 2.1)");
        _bindings.Add((predIou, nameof(Defaults.PredIouThresh),
            (o, parsed) => parsed.GetResult(predIou) is null ? o : o with { PredIouThresh = parsed.GetValue(predIou) }));
        Real(nameof(Defaults.StabilityScoreThresh), o => o.StabilityScoreThresh, (o, v) => o with { StabilityScoreThresh = v },
            "drop masks whose stability score is below this (0: keep all)");
        Real(nameof(Defaults.StabilityScoreOffset), o => o.StabilityScoreOffset, (o, v) => o with { StabilityScoreOffset = v },
            "how far the logit cutoff moves either way for the stability score");
        Real(nameof(Defaults.BoxNmsThresh), o => o.BoxNmsThresh, (o, v) => o with { BoxNmsThresh = v },
            "box IoU above which NMS drops duplicate masks within a crop");
        Int(nameof(Defaults.CropNLayers), o => o.CropNLayers, (o, v) => o with { CropNLayers = v },
            "crop layers beyond the whole image; layer i has (2^i)^2 crops");
        Real(nameof(Defaults.CropNmsThresh), o => o.CropNmsThresh, (o, v) => o with { CropNmsThresh = v },
            "box IoU above which NMS drops duplicates between crops");
        Real(nameof(Defaults.CropOverlapRatio), o => o.CropOverlapRatio, (o, v) => o with { CropOverlapRatio = v },
            "overlap of neighbouring crops in layer 1, a fraction of the short side (512/1500)");
        Int(nameof(Defaults.CropNPointsDownscaleFactor), o => o.CropNPointsDownscaleFactor, (o, v) => o with { CropNPointsDownscaleFactor = v },
            "layer i samples points-per-side / factor^i points per side");
        Int(nameof(Defaults.MinMaskRegionArea), o => o.MinMaskRegionArea, (o, v) => o with { MinMaskRegionArea = v },
            "if above 0, remove holes and islands smaller than this many pixels, then NMS again");
        // Off by default, so a flag.
        var useM2m = CliOptions.Flag(Flag(nameof(Defaults.UseM2m)),
            "SAM 2.1: refine each mask once, predicting again from its point with its own logits as the mask input");
        _bindings.Add((useM2m, nameof(Defaults.UseM2m), (o, parsed) => parsed.GetValue(useM2m) ? o with { UseM2m = true } : o));
        Bool(nameof(Defaults.MultimaskOutput), o => o.MultimaskOutput, (o, v) => o with { MultimaskOutput = v },
            "three masks per point; false: one (SAM 2.1 only)");
        var outputMode = CliOptions.Parsed("--output-mode", "MODE", "coco_rle | uncompressed_rle | binary_mask", AmgOutputMode.CocoRle, ParseOutputMode);
        _bindings.Add((outputMode, nameof(Defaults.OutputMode), (o, parsed) => o with { OutputMode = parsed.GetValue(outputMode) }));
    }

    /// <summary>Each option with the property of <see cref="AutomaticMaskGeneratorOptions"/> it sets, in help order.</summary>
    public IEnumerable<(Option Option, string Property)> Options => _bindings.Select(b => (b.Option, b.Property));

    /// <summary>Adds every option to <paramref name="verb"/>.</summary>
    public void AddTo(Command verb)
    {
        foreach (var b in _bindings) verb.Add(b.Option);
    }

    /// <summary>The generator options of a parsed command line: the defaults with every option given applied.</summary>
    public AutomaticMaskGeneratorOptions Read(ParseResult parsed) =>
        _bindings.Aggregate(Defaults, (options, b) => b.Apply(options, parsed));

    private void Int(string property, Func<AutomaticMaskGeneratorOptions, int> get,
        Func<AutomaticMaskGeneratorOptions, int, AutomaticMaskGeneratorOptions> set, string description) =>
        Bind(CliOptions.Int(Flag(property), "N", description, get(Defaults)), property, set);

    private void Real(string property, Func<AutomaticMaskGeneratorOptions, double> get,
        Func<AutomaticMaskGeneratorOptions, double, AutomaticMaskGeneratorOptions> set, string description) =>
        Bind(CliOptions.Real(Flag(property), "X", description, get(Defaults)), property, set);

    private void Bool(string property, Func<AutomaticMaskGeneratorOptions, bool> get,
        Func<AutomaticMaskGeneratorOptions, bool, AutomaticMaskGeneratorOptions> set, string description) =>
        Bind(CliOptions.Bool(Flag(property), description, get(Defaults)), property, (o, v) => set(o, v == "true"));

    private void Bind<T>(Option<T> option, string property, Func<AutomaticMaskGeneratorOptions, T, AutomaticMaskGeneratorOptions> set) =>
        _bindings.Add((option, property, (o, parsed) => set(o, parsed.GetValue(option)!)));

    private static string Flag(string property) => "--" + CliOptions.KebabCase(property);

    private static AmgOutputMode ParseOutputMode(string text) => AmgOutputModes.TryParse(text, out var mode)
        ? mode
        : throw new FormatException($"unknown --output-mode '{text}' (coco_rle, uncompressed_rle or binary_mask)");
}
