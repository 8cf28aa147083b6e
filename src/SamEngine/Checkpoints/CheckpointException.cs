namespace SamEngine.Checkpoints;

/// <summary>Thrown for a checkpoint that cannot be read: corrupt, truncated, or holding something a state dict does not.</summary>
public sealed class CheckpointException : IOException
{
    /// <summary>Creates the exception with a one-line message naming the file and the problem.</summary>
    public CheckpointException(string message, Exception? inner = null) : base(message, inner) { }
}
