namespace SamEngine.Cli;

/// <summary>A one-line progress display on stderr, shown only when stderr is the process's own terminal.</summary>
public sealed class TerminalProgress
{
    private readonly TextWriter _stderr;

    private TerminalProgress(TextWriter stderr) => _stderr = stderr;

    /// <summary>A progress line on <paramref name="stderr"/>, or null when it is redirected (piped, a file, a test's writer).</summary>
    public static TerminalProgress? For(TextWriter stderr) =>
        ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected ? new TerminalProgress(stderr) : null;

    /// <summary>Shows "<paramref name="what"/> done/total".</summary>
    public void Report(string what, int done, int total) => _stderr.Write($"\r{what} {done}/{total}   ");

    /// <summary>Clears the line.</summary>
    public void Done() => _stderr.Write($"\r{new string(' ', 60)}\r");
}
