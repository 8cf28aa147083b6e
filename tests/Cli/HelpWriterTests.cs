using System.CommandLine;
using System.Text.RegularExpressions;
using SamEngine.Cli;

namespace SamEngine.Tests.Cli;

/// <summary><c>--help</c> of samengine and of every verb: complete, with each option's description and default.</summary>
public sealed class HelpWriterTests
{
    /// <summary>Every verb's options today, as engine-contracts.md and the README name them: none may go missing or appear unannounced.</summary>
    public static TheoryData<string, string[]> VerbOptions => new()
    {
        { "segment", ["--model", "--arch", "--backend", "--precision", "--image", "--embedding", "--point", "--box", "--mask-input", "--multimask", "--out", "--json", "--help"] },
        { "embed", ["--model", "--arch", "--backend", "--precision", "--image", "--images", "--out", "--shard", "--shards", "--fail-fast", "--help"] },
        { "info", ["--model", "--arch", "--backend", "--precision", "--json", "--help"] },
        { "convert", ["--out", "--dtype", "--arch", "--help"] },
        { "parity", ["--fixture", "--backend", "--precision", "--out", "--help"] },
        { "bench", ["--model", "--arch", "--backend", "--precision", "--runs", "--json", "--encoder-only", "--profile", "--help"] },
        { "amg", ["--model", "--arch", "--backend", "--precision", "--image", "--images", "--out", "--overlay", "--format", "--shard", "--shards", "--fail-fast", "--output-mode", "--points-per-side",
            "--points-per-batch", "--pred-iou-thresh", "--stability-score-thresh", "--stability-score-offset", "--box-nms-thresh",
            "--crop-n-layers", "--crop-nms-thresh", "--crop-overlap-ratio", "--crop-n-points-downscale-factor", "--min-mask-region-area", "--use-m2m", "--multimask-output", "--help"] },
        { "merge", ["--out", "--help"] },
        { "serve", ["--model", "--arch", "--backend", "--precision", "--host", "--port", "--api-key", "--cache-mb", "--cors", "--max-upload-mb", "--max-pixels",
            "--encoder-queue", "--help"] },
    };

    private static string Help(string verb, string flag = "--help")
    {
        var (code, stdout, stderr) = CliRunner.Run(verb, flag);
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        return stdout;
    }

    /// <summary>The option names at the start of the help's option lines.</summary>
    private static string[] ListedOptions(string help) =>
        Regex.Matches(help, @"^  (?:-h, )?(--[a-z0-9-]+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();

    [Theory]
    [MemberData(nameof(VerbOptions))]
    public void Help_of_each_verb_lists_exactly_its_options(string verb, string[] options)
    {
        string help = Help(verb);
        Assert.StartsWith($"usage: samengine {verb}", help);
        Assert.Equal(options.Order(), ListedOptions(help).Order());
        Assert.Equal(help, Help(verb, "-h"));
    }

    [Theory]
    [MemberData(nameof(VerbOptions))]
    public void Help_gives_every_option_its_description_and_default(string verb, string[] _)
    {
        string help = Help(verb);
        var command = CliMain.Create().Subcommands.Single(c => c.Name == verb);
        foreach (var option in command.Options)
        {
            var line = help.Split('\n').Single(l => Regex.IsMatch(l, $@"^  {Regex.Escape(option.Name)}( |$)"));
            string description = option.Description!.Split('\n')[0];
            Assert.False(string.IsNullOrWhiteSpace(description), $"{verb} {option.Name} has no description");
            Assert.Contains(description, line);
            bool takesValue = option.Arity.MaximumNumberOfValues > 0;
            if (takesValue) Assert.Contains($"{option.Name} {option.HelpName}", line);
            // The default closes the option's last description line.
            int at = help.IndexOf(line, StringComparison.Ordinal);
            string rest = help[at..].Split('\n').TakeWhile((l, i) => i == 0 || l.StartsWith("     ", StringComparison.Ordinal)).Last();
            if (option.Required) Assert.EndsWith("(required)", rest.TrimEnd());
            else if (takesValue && option.HasDefaultValue && option.GetDefaultValue() is { } value)
                Assert.EndsWith($"(default: {CliOptions.FormatValue(value)})", rest.TrimEnd());
            // --pred-iou-thresh has no parser default: the model's family picks it, and the help names both.
            else if (verb == "amg" && option.Name == "--pred-iou-thresh")
                Assert.EndsWith($"(default: {CliOptions.FormatValue(SamEngine.Amg.AutomaticMaskGeneratorOptions.Sam1PredIouThresh)} for SAM 1, " +
                    $"{CliOptions.FormatValue(SamEngine.Amg.AutomaticMaskGeneratorOptions.Sam2PredIouThresh)} for SAM 2.1)", rest.TrimEnd());
            else Assert.DoesNotContain("(default:", rest);
        }
        foreach (var argument in command.Arguments) Assert.Matches($@"(?m)^  {argument.Name} +{Regex.Escape(argument.Description!)}", help);
    }

    [Fact]
    public void Backend_default_is_auto_in_every_verb_that_runs_a_model()
    {
        foreach (var verb in new[] { "segment", "embed", "info", "parity", "bench", "amg" })
            Assert.Matches(@"(?m)^  --backend NAME +cpu \| ilgpu-cpu \| cuda \| opencl \| auto \(default: auto\)", Help(verb));
    }

    [Fact]
    public void Root_help_lists_every_verb_with_its_summary()
    {
        foreach (var args in new[] { new[] { "--help" }, ["-h"], ["help"] })
        {
            var (code, stdout, _) = CliRunner.Run(args);
            Assert.Equal(0, code);
            Assert.StartsWith("usage: samengine <verb>", stdout);
            foreach (var verb in CliMain.Create().Subcommands)
                Assert.Matches($@"(?m)^  {verb.Name} +{Regex.Escape(verb.Description!)}", stdout);
        }
        Assert.Equal(["segment", "embed", "info", "convert", "parity", "bench", "amg", "merge", "serve"], CliMain.Create().Subcommands.Select(c => c.Name));
    }

    [Fact]
    public void No_arguments_print_the_usage_on_stderr_and_exit_2()
    {
        var (code, stdout, stderr) = CliRunner.Run();
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("usage: samengine <verb>", stderr);
    }
}
