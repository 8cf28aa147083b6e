using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using SamEngine.Amg;
using SamEngine.Cli.Commands;
using SamEngine.Config;

namespace SamEngine.Tests.Cli;

/// <summary>
/// The <c>amg</c> options against <see cref="AutomaticMaskGeneratorOptions"/>, by reflection over the
/// record: a parameter added there without a flag, a flag bound to the wrong property or a default
/// retyped differently fails here.
/// </summary>
public sealed class AmgParametersTests
{
    /// <summary>Properties with no flag of their own, and why.</summary>
    private static readonly Dictionary<string, string> WithoutFlag = new()
    {
        [nameof(AutomaticMaskGeneratorOptions.PointGrids)] = "explicit point grids are a library-only input (upstream's amg.py has no flag either)",
    };

    /// <summary>engine-contracts.md: the JSON file's default output mode is coco_rle (the record's, as upstream's class, is binary_mask).</summary>
    private static readonly AutomaticMaskGeneratorOptions CliDefaults = new() { OutputMode = AmgOutputMode.CocoRle };

    /// <summary>Every settable property of the record that should have a flag.</summary>
    private static string[] PropertyNames() =>
        typeof(AutomaticMaskGeneratorOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && !WithoutFlag.ContainsKey(p.Name)).Select(p => p.Name).ToArray();

    public static TheoryData<string> Properties() => new(PropertyNames());

    private static PropertyInfo Property(string name) => typeof(AutomaticMaskGeneratorOptions).GetProperty(name)!;

    /// <summary>PointsPerSide → --points-per-side: upstream's argument name in kebab case.</summary>
    private static string Flag(string property) => "--" + Regex.Replace(property, "(?<!^)([A-Z])", "-$1").ToLowerInvariant();

    private static bool IsFlag(string property) =>
        new AmgParameters().Options.Single(o => o.Property == property).Option.Arity.MaximumNumberOfValues == 0;

    private static AutomaticMaskGeneratorOptions Parse(params string[] args)
    {
        var parameters = new AmgParameters();
        var command = new Command("amg");
        parameters.AddTo(command);
        var parsed = command.Parse(args);
        Assert.Empty(parsed.Errors);
        return parameters.Read(parsed);
    }

    /// <summary>The value as the command line writes it, and one different from it.</summary>
    private static (string Text, object Value) OtherThan(object value) => value switch
    {
        null => ("0.625", 0.625), // a default the model's family picks
        bool b => (b ? "false" : "true", !b), // a flag (false by default) is given alone
        int i => ((i + 3).ToString(CultureInfo.InvariantCulture), i + 3),
        double d => ((d + 0.125).ToString("R", CultureInfo.InvariantCulture), d + 0.125),
        AmgOutputMode.UncompressedRle => ("binary_mask", AmgOutputMode.BinaryMask),
        AmgOutputMode => ("uncompressed_rle", AmgOutputMode.UncompressedRle),
        _ => throw new InvalidOperationException($"no test value for {value.GetType()}: give the new parameter a case here"),
    };

    [Fact]
    public void Every_flag_belongs_to_a_property()
    {
        var flags = new AmgParameters().Options.Select(o => o.Option.Name).Order();
        Assert.Equal(PropertyNames().Select(Flag).Order(), flags);
    }

    [Theory]
    [MemberData(nameof(Properties))]
    public void Help_shows_the_records_default(string property)
    {
        var (code, help, stderr) = CliRunner.Run("amg", "--help");
        Assert.True(code == 0, stderr);
        if (IsFlag(property))
        {
            // A flag shows no default: it can only turn on what is off by default.
            Assert.Matches($@"(?m)^  {Flag(property)} +[^(]*$", help);
            Assert.Equal(false, Property(property).GetValue(CliDefaults));
            return;
        }
        var line = Regex.Match(help, $@"(?m)^  {Flag(property)} \S+ +.*\(default: (?<value>[^)]+)\)\s*$");
        Assert.True(line.Success, $"amg --help has no line for {Flag(property)} with a default:\n{help}");
        string shown = line.Groups["value"].Value;
        if (Property(property).GetValue(CliDefaults) is null)
        {
            // Left to the model's family: the help names the default of each.
            var both = Regex.Match(shown, @"^(?<sam1>\S+) for SAM 1, (?<sam2>\S+) for SAM 2\.1$");
            Assert.True(both.Success, $"{Flag(property)} shows '{shown}', not a default per family");
            var resolved = (Sam: CliDefaults.ForFamily(ModelFamily.Sam), Sam2: CliDefaults.ForFamily(ModelFamily.Sam2));
            Assert.Equal(Property(property).GetValue(resolved.Sam), double.Parse(both.Groups["sam1"].Value, CultureInfo.InvariantCulture));
            Assert.Equal(Property(property).GetValue(resolved.Sam2), double.Parse(both.Groups["sam2"].Value, CultureInfo.InvariantCulture));
            return;
        }
        object expected = Property(property).GetValue(CliDefaults)!;
        object parsed = expected switch
        {
            bool => bool.Parse(shown),
            int => int.Parse(shown, CultureInfo.InvariantCulture),
            double => double.Parse(shown, CultureInfo.InvariantCulture),
            AmgOutputMode => Enum.Parse<AmgOutputMode>(shown.Replace("_", ""), ignoreCase: true),
            _ => throw new InvalidOperationException($"unexpected type {expected.GetType()}"),
        };
        Assert.Equal(expected, parsed);
    }

    [Fact]
    public void No_flags_give_the_records_defaults() => Assert.Equal(CliDefaults, Parse());

    [Fact]
    public void Use_m2m_is_a_flag_that_turns_it_on() => Assert.True(Parse("--use-m2m").UseM2m);

    [Fact]
    public void Multimask_output_false_asks_for_one_mask() => Assert.False(Parse("--multimask-output", "false").MultimaskOutput);

    [Theory]
    [MemberData(nameof(Properties))]
    public void Each_flag_sets_its_own_property_and_nothing_else(string property)
    {
        var (text, value) = OtherThan(Property(property).GetValue(CliDefaults)!);
        var expected = CliDefaults with { };
        Property(property).SetValue(expected, value);
        Assert.Equal(expected, IsFlag(property) ? Parse(Flag(property)) : Parse(Flag(property), text));
    }

    [Theory]
    [MemberData(nameof(Properties))]
    public void A_value_that_is_not_a_number_or_mode_is_a_one_line_usage_error(string property)
    {
        string dir = TestFixtures.Local("tiny");
        var (code, stdout, stderr) = CliRunner.Run("amg", "--model", Path.Combine(dir, "model.safetensors"), "--image", Path.Combine(dir, "image.png"),
            "--out", Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}.json"), Flag(property), "1.5x");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        // A flag takes no value, so the value is an argument of its own.
        Assert.Matches(IsFlag(property) ? @"^samengine: error: amg: .*'1\.5x'.*\n$" : $@"^samengine: error: amg: .*{Flag(property)} .*'1\.5x'.*\n$", stderr);
    }
}
