using System.CommandLine;
using System.Globalization;
using SamEngine.Batch;
using SamEngine.Modeling;

namespace SamEngine.Cli.Batch;

/// <summary>
/// The batch form of <c>amg</c> and <c>embed</c> (engine-contracts.md "Batch"): <c>--images</c> instead of
/// <c>--image</c>, <c>--out</c> a folder, <c>--format</c> (amg), <c>--shard I/N</c> or <c>--shards N</c>,
/// <c>--fail-fast</c>. Exit status 0 when every image of the shard is done, 1 when some were skipped or
/// failed (after all were tried, unless <c>--fail-fast</c>).
/// </summary>
public sealed class BatchOptions
{
    private readonly string _verb;
    private readonly Option<string?> _images = CliOptions.Text("--images", "DIR|LIST.txt|GLOB",
        "batch: a folder (recursive), a list file (one path a line) or a glob; --out is then a folder");
    private readonly Option<BatchFormat>? _format;
    private readonly Option<Shard?> _shard = CliOptions.Optional<Shard?>("--shard", "I/N",
        "batch: run shard I of N (0-based) of the sorted image list;\ndefault: from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX with --shards", text => Shard.Parse(text));
    private readonly Option<int?> _shards = CliOptions.Optional<int?>("--shards", "N",
        "batch: the number of shards when the index comes from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's completions)", ParseShards);
    private readonly Option<bool> _failFast = CliOptions.Flag("--fail-fast", "batch: stop at the first image that cannot be read or fails");

    /// <summary>Adds the options to <paramref name="verb"/>; <paramref name="formats"/>: the output formats it offers, the first the default (none: one fixed format).</summary>
    public BatchOptions(Verb verb, params BatchFormat[] formats)
    {
        _verb = verb.Name;
        verb.Add(_images);
        if (formats.Length > 1)
        {
            _format = CliOptions.Parsed("--format", "FMT", "batch: " + string.Join(" | ", formats.Select(f => f.Name())), formats[0],
                text => BatchFormats.TryParse(text, formats, out var f) ? f
                    : throw new FormatException($"unknown --format '{text}' ({string.Join(", ", formats.Select(x => x.Name()))})"));
            verb.Add(_format);
        }
        Fixed = formats[0];
        verb.Add(_shard);
        verb.Add(_shards);
        verb.Add(_failFast);
    }

    private BatchFormat Fixed { get; }

    /// <summary>
    /// Whether the command line asks for a batch (<c>--images</c>); checks that exactly one of
    /// <c>--image</c> and <c>--images</c> is given and that batch options come only with <c>--images</c>.
    /// </summary>
    public bool IsBatch(ParseResult parsed, Option<string?> image, params Option[] singleOnly)
    {
        bool one = parsed.GetValue(image) is not null, many = parsed.GetValue(_images) is not null;
        if (one && many) throw new UsageException($"{_verb}: give --image IMG or --images DIR|LIST.txt|GLOB, not both");
        if (!one && !many) throw new UsageException($"{_verb}: option '--image' or '--images' is required");
        if (!many)
        {
            Option[] batchOnly = [.. _format is null ? [] : new Option[] { _format }, _shard, _shards, _failFast];
            if (batchOnly.FirstOrDefault(o => parsed.GetResult(o) is { Implicit: false }) is { } stray)
                throw new UsageException($"{_verb}: {stray.Name} goes with --images (a batch), not --image");
        }
        else if (singleOnly.FirstOrDefault(o => parsed.GetResult(o) is { Implicit: false }) is { } stray)
            throw new UsageException($"{_verb}: {stray.Name} goes with --image (one image), not --images");
        return many;
    }

    /// <summary>
    /// Runs the batch: lists the images and picks the shard before the model loads (so a mistake costs
    /// nothing), then runs <see cref="BatchRunner"/> with progress on <paramref name="stderr"/> and a summary on <paramref name="stdout"/>.
    /// </summary>
    public int Run(ParseResult parsed, string outDir, Func<SamModel> loadModel, Func<SamModel, BatchFormat, IBatchWork> makeWork,
        TextWriter stdout, TextWriter stderr)
    {
        var format = _format is null ? Fixed : parsed.GetValue(_format);
        string spec = parsed.GetValue(_images)!;
        var all = ImageList.Resolve(spec, outDir, key => format.OutputName(key));
        var shard = parsed.GetValue(_shard) ?? Shard.FromEnvironment(Environment.GetEnvironmentVariable, parsed.GetValue(_shards));
        var images = shard.Select(all);

        using var model = loadModel();
        var work = makeWork(model, format);
        try
        {
            var display = new BatchProgressDisplay(stderr);
            var summary = new BatchRunner(outDir, work, model) { FailFast = parsed.GetValue(_failFast), Progress = display.Report }.Run(images, shard);
            display.Done();
            stdout.WriteLine(Summary(summary, shard, outDir));
            return summary.AllDone ? 0 : 1;
        }
        finally { (work as IDisposable)?.Dispose(); }
    }

    private string Summary(BatchSummary s, Shard shard, string outDir)
    {
        var ci = CultureInfo.InvariantCulture;
        int run = s.Done - s.AlreadyDone + s.Skipped + s.Failed;
        double perHour = run > 0 && s.Elapsed.TotalSeconds > 0 ? run / s.Elapsed.TotalHours : 0;
        string part = shard.Count > 1 ? $" (shard {shard})" : "";
        string stopped = s.NotTried > 0 ? $", {s.NotTried} not tried (--fail-fast)" : "";
        return string.Create(ci, $"{_verb}: {s.Total} images{part}: {s.Done} done ({s.AlreadyDone} by an earlier run), {s.Skipped} skipped, {s.Failed} failed{stopped} " +
                                 $"in {s.Elapsed.TotalSeconds:F1} s ({perHour:F0} images/hour) -> {outDir}");
    }

    private static int? ParseShards(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 ? n
        : throw new FormatException($"--shards needs a positive whole number, got '{text}'");
}
