namespace SamEngine.Modeling;

/// <summary>
/// Refuses a second call into an object that is not thread-safe while a first one is running (another
/// thread, or a callback of the running call), with an error that says so, instead of letting the two
/// calls corrupt each other's state. Costs one interlocked exchange per call.
/// </summary>
internal sealed class ConcurrentUseGuard(string owner)
{
    private int _busy;

    /// <summary>Marks the object in use until the returned scope is disposed.</summary>
    public Scope Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException($"this {owner} is already in use by another call: an instance is not thread-safe, use one {owner} per thread");
        return new Scope(this);
    }

    /// <summary>The span of one call.</summary>
    public readonly struct Scope(ConcurrentUseGuard guard) : IDisposable
    {
        /// <summary>Ends the call.</summary>
        public void Dispose() => Volatile.Write(ref guard._busy, 0);
    }
}
