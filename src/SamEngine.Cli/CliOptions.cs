using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace SamEngine.Cli;

/// <summary>
/// Builds the verbs' options. Values are read in the invariant culture, and a value that does not parse
/// is a parse error naming the option and the value (one line, exit 2) before the verb runs.
/// </summary>
public static class CliOptions
{
    /// <summary>An optional text value (null when not given).</summary>
    public static Option<string?> Text(string name, string helpName, string description) =>
        new(name) { HelpName = helpName, Description = description };

    /// <summary>A text value that must be given.</summary>
    public static Option<string> Required(string name, string helpName, string description) =>
        new(name) { HelpName = helpName, Description = description, Required = true };

    /// <summary>A flag: present or not, it takes no value.</summary>
    public static Option<bool> Flag(string name, string description) =>
        new(name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>A whole number of at least <paramref name="minimum"/>, <paramref name="defaultValue"/> when not given.</summary>
    public static Option<int> Int(string name, string helpName, string description, int defaultValue, int minimum = int.MinValue)
    {
        string expected = minimum switch
        {
            int.MinValue => "a whole number",
            1 => "a positive whole number",
            _ => $"a whole number of at least {minimum}",
        };
        return Parsed(name, helpName, description, defaultValue, text =>
            int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) && v >= minimum ? v
            : throw new FormatException($"{name} needs {expected}, got '{text}'"));
    }

    /// <summary>A finite number, <paramref name="defaultValue"/> when not given.</summary>
    public static Option<double> Real(string name, string helpName, string description, double defaultValue) =>
        Parsed(name, helpName, description, defaultValue, text => ParseReal(name, text));

    /// <summary>A finite number with no default: null when not given.</summary>
    public static Option<double?> OptionalReal(string name, string helpName, string description) =>
        Optional<double?>(name, helpName, description, text => ParseReal(name, text));

    /// <summary>
    /// <c>true</c> or <c>false</c> (the text, checked), <paramref name="defaultValue"/> when not given. Text
    /// because System.CommandLine leaves a token that is not a bool unread by a bool option, which then
    /// reports a wrong value as a stray argument without naming the option.
    /// </summary>
    public static Option<string> Bool(string name, string description, bool defaultValue) =>
        Parsed(name, "true|false", description, defaultValue ? "true" : "false",
            text => text is "true" or "false" ? text : throw new FormatException($"{name} needs true or false, got '{text}'"));

    private static double ParseReal(string name, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v
        : throw new FormatException($"{name} needs a finite number, got '{text}'");

    /// <summary>
    /// A value read by <paramref name="parse"/>, which throws a <see cref="FormatException"/> whose message
    /// is the error to print, naming the option and the value.
    /// </summary>
    public static Option<T> Parsed<T>(string name, string helpName, string description, T defaultValue, Func<string, T> parse) =>
        new(name)
        {
            HelpName = helpName, Description = description, DefaultValueFactory = _ => defaultValue,
            CustomParser = result => Parse(result, LastToken(result), parse),
        };

    /// <summary>
    /// A value read by <paramref name="parse"/> with no default: ask <c>ParseResult.GetResult(option)</c>
    /// whether it was given (an absent array-valued option reads as empty, not null).
    /// </summary>
    public static Option<T> Optional<T>(string name, string helpName, string description, Func<string, T> parse) =>
        new(name)
        {
            HelpName = helpName, Description = description,
            CustomParser = result => Parse(result, LastToken(result), parse),
        };

    /// <summary>A repeatable option: every value read by <paramref name="parse"/>, in the order given.</summary>
    public static Option<T[]> Repeated<T>(string name, string helpName, string description, Func<string, T> parse) =>
        new(name)
        {
            HelpName = helpName, Description = description, AllowMultipleArgumentsPerToken = false,
            CustomParser = result => result.Tokens.Select(t => Parse(result, t.Value, parse)).ToArray(),
        };

    // The value given last; empty if the parser is ever asked without one (System.CommandLine reports that itself).
    private static string LastToken(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";

    private static T Parse<T>(ArgumentResult result, string text, Func<string, T> parse)
    {
        try { return parse(text); }
        catch (FormatException e)
        {
            result.AddError(e.Message);
            return default!;
        }
    }

    /// <summary>
    /// A default as the command line writes it: numbers in the invariant culture (a real always with a
    /// decimal point, exactly the value it stands for), enum members in snake case (<c>coco_rle</c>).
    /// </summary>
    public static string FormatValue(object? value) => value switch
    {
        null => "",
        double d => Real(d),
        Enum e => SnakeCase(e.ToString()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Real(double d)
    {
        string s = d.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.') || s.Contains('E') || !double.IsFinite(d) ? s : s + ".0";
    }

    /// <summary><c>CocoRle</c> → <c>coco_rle</c>.</summary>
    public static string SnakeCase(string pascal) => Separated(pascal, '_');

    /// <summary><c>PointsPerSide</c> → <c>points-per-side</c>: a C# name as a command-line option's.</summary>
    public static string KebabCase(string pascal) => Separated(pascal, '-');

    private static string Separated(string pascal, char separator) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) && i > 0 ? $"{separator}{char.ToLowerInvariant(c)}" : $"{char.ToLowerInvariant(c)}"));
}
