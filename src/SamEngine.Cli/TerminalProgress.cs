namespace SamEngine.Cli;

/// <summary>A one-line progress display on stderr, shown only when stderr is the process's own terminal.</summary>
public sealed class TerminalProgress
{
    private readonly TextWriter _stderr;

    private TerminalProgress(TextWriter stderr) => _stderr = stderr;

    /// <summary>A progress line on <paramref name="stderr"/>, or null when it is redirected (piped, a file, a test's writer).</summary>
    public static TerminalProgress? For(TextWriter stderr) =>
        ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected ? new TerminalProgress(stderr) : null;

    /// <summary>
    /// Runs <paramref name="work"/> with a progress callback that shows "<paramref name="what"/> done/total"
    /// on a terminal (null when stderr is redirected), and clears the line afterwards, also on failure.
    /// </summary>
    public static T Show<T>(TextWriter stderr, string what, Func<Action<int, int>?, T> work)
    {
        var p = For(stderr);
        try { return work(p is null ? null : (done, total) => p.Report(what, done, total)); }
        finally { p?.Done(); }
    }

    /// <summary>Shows "<paramref name="what"/> done/total".</summary>
    public void Report(string what, int done, int total) => _stderr.Write($"\r{what} {done}/{total}   ");

    /// <summary>Shows <paramref name="line"/> in place of the last.</summary>
    public void ShowLine(string line) => _stderr.Write($"\r{line}   ");

    /// <summary>Clears the line.</summary>
    public void Done() => _stderr.Write($"\r{new string(' ', 100)}\r");
}
