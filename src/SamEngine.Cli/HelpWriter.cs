using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace SamEngine.Cli;

/// <summary>
/// The <c>--help</c> of <c>samengine</c> and of each <see cref="Verb"/>, written from the commands
/// themselves so that no option can be left out: every option with its value name, description and
/// default (or "required"). Replaces System.CommandLine's own help layout.
/// </summary>
public sealed class HelpWriter : SynchronousCommandLineAction
{
    /// <summary>The <c>--help</c> / <c>-h</c> option, for the root command and (recursively) every verb.</summary>
    public static HelpOption Option() => new("--help", "-h") { Description = "show this help", Recursive = true, Action = new HelpWriter() };

    /// <inheritdoc />
    public override bool ClearsParseErrors => true;

    /// <inheritdoc />
    public override int Invoke(ParseResult parseResult)
    {
        Write(parseResult.CommandResult.Command, parseResult.InvocationConfiguration.Output);
        return 0;
    }

    /// <summary>Writes the help of <paramref name="command"/>: the list of verbs for the root, else the verb's page.</summary>
    public static void Write(Command command, TextWriter output)
    {
        if (command is not Verb verb)
        {
            output.WriteLine("usage: samengine <verb> [options]     (samengine <verb> --help for each)");
            output.WriteLine();
            foreach (var sub in command.Subcommands) output.WriteLine($"  {sub.Name,-9} {sub.Description}");
            return;
        }
        output.WriteLine($"usage: {verb.Synopsis}");
        output.WriteLine();
        output.WriteLine(verb.Details);
        output.WriteLine();
        var rows = verb.Arguments.Select(a => (First: a.Name, Second: a.Description ?? ""))
            .Concat(verb.Options.Select(o => (First: o.HelpName is null || o.Arity.MaximumNumberOfValues == 0 ? o.Name : $"{o.Name} {o.HelpName}", Second: Describe(o))))
            .Append((First: "-h, --help", Second: "show this help"))
            .ToList();
        int width = rows.Max(r => r.First.Length) + 2;
        foreach (var (first, second) in rows)
        {
            var lines = second.Split('\n');
            output.WriteLine($"  {first.PadRight(width)} {lines[0]}");
            foreach (var line in lines.Skip(1)) output.WriteLine($"  {new string(' ', width)} {line}");
        }
    }

    /// <summary>The description with "(required)" or "(default: X)" after it; flags have no default to show.</summary>
    private static string Describe(Option option)
    {
        string description = option.Description ?? "";
        if (option.Required) return $"{description} (required)";
        if (option.Arity.MaximumNumberOfValues == 0 || !option.HasDefaultValue || option.GetDefaultValue() is not { } value) return description;
        return $"{description} (default: {CliOptions.FormatValue(value)})";
    }
}
