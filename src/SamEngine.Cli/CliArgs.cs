namespace SamEngine.Cli;

/// <summary>A usage error: the CLI prints it on one line and exits with code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Minimal `--name value` / `--flag` parser: every option must be declared by the verb, repeated
/// options are kept in order, and anything unknown is a usage error.
/// </summary>
public sealed class CliArgs
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    /// <summary>Parses <paramref name="args"/> given the verb's options (with values) and flags.</summary>
    public CliArgs(string verb, IReadOnlyList<string> args, IReadOnlyCollection<string> options, IReadOnlyCollection<string> flags)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (flags.Contains(a)) { _flags.Add(a); continue; }
            if (!options.Contains(a)) throw new UsageException($"{verb}: unknown argument '{a}' (see 'samengine {verb} --help')");
            if (i + 1 >= args.Count) throw new UsageException($"{verb}: option {a} needs a value");
            if (!_values.TryGetValue(a, out var list)) _values[a] = list = [];
            list.Add(args[++i]);
        }
    }

    /// <summary>Whether a flag was given.</summary>
    public bool Flag(string name) => _flags.Contains(name);

    /// <summary>The single value of an option, or null; given twice is a usage error.</summary>
    public string? Value(string name) => _values.TryGetValue(name, out var l)
        ? l.Count == 1 ? l[0] : throw new UsageException($"option {name} given {l.Count} times")
        : null;

    /// <summary>The value of a required option.</summary>
    public string Required(string verb, string name) => Value(name) ?? throw new UsageException($"{verb}: {name} is required");

    /// <summary>Every value of a repeatable option, in order.</summary>
    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var l) ? l : [];
}
