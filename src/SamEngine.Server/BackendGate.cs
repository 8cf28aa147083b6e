using SamEngine.Backends.Cpu;

namespace SamEngine.Server;

/// <summary>
/// Who may use the model at once. On the <c>cpu</c> backend predictors on different threads share the
/// model safely, so up to <c>decoderConcurrency</c> decoder requests run beside the encoder; a GPU
/// backend has one device queue, so the encoder and every decoder request take turns.
/// </summary>
public sealed class BackendGate
{
    private readonly SemaphoreSlim _decoders;
    private readonly SemaphoreSlim? _exclusive;

    /// <summary>A gate for <paramref name="backend"/>.</summary>
    public BackendGate(Backends.IBackend backend, int decoderConcurrency)
    {
        bool shared = backend is CpuBackend;
        _decoders = new SemaphoreSlim(shared ? decoderConcurrency : 1);
        _exclusive = shared ? null : new SemaphoreSlim(1);
        DecoderConcurrency = shared ? decoderConcurrency : 1;
    }

    /// <summary>Decoder requests that may run at once.</summary>
    public int DecoderConcurrency { get; }

    /// <summary>Waits for a decoder slot (and, on a GPU, the device).</summary>
    public async Task<IDisposable> EnterDecoder(CancellationToken cancel)
    {
        await _decoders.WaitAsync(cancel);
        if (_exclusive is null) return new Release(_decoders, null);
        try { await _exclusive.WaitAsync(cancel); }
        catch
        {
            _decoders.Release();
            throw;
        }
        return new Release(_decoders, _exclusive);
    }

    /// <summary>Takes the device for an encoder job (a no-op on the cpu backend).</summary>
    public IDisposable EnterEncoder()
    {
        _exclusive?.Wait();
        return new Release(null, _exclusive);
    }

    private sealed class Release(SemaphoreSlim? a, SemaphoreSlim? b) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0) return;
            b?.Release();
            a?.Release();
        }
    }
}
