using System.CommandLine;

namespace SamEngine.Cli;

/// <summary>
/// A verb of <c>samengine</c>: a command whose <c>--help</c> prints <paramref name="synopsis"/>, then
/// <paramref name="details"/>, then every option with its description and default.
/// </summary>
/// <param name="name">The verb as typed (<c>segment</c>).</param>
/// <param name="summary">One line for the list of verbs in <c>samengine --help</c>.</param>
/// <param name="synopsis">The usage line(s), starting <c>samengine &lt;verb&gt;</c>.</param>
/// <param name="details">What the verb does, a paragraph or two.</param>
public sealed class Verb(string name, string summary, string synopsis, string details) : Command(name, summary)
{
    /// <summary>The usage line(s), starting <c>samengine &lt;verb&gt;</c>.</summary>
    public string Synopsis { get; } = synopsis;

    /// <summary>What the verb does.</summary>
    public string Details { get; } = details;
}
