namespace SamEngine.Cli;

/// <summary>A usage error: the CLI prints it on one line and exits with code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
