using System.Diagnostics;
using System.Threading.Channels;

namespace SamEngine.Server;

/// <summary>
/// The backend's encoder work (image encodes, mask generation), run one job at a time on a worker thread
/// of its own, with at most <c>capacity</c> jobs waiting: a job beyond that is refused at once with a 503
/// whose <c>Retry-After</c> is the queue's expected drain time, rather than letting requests pile up.
/// </summary>
public sealed class EncoderQueue : IDisposable
{
    private readonly Channel<Job> _jobs;
    private readonly Thread _worker;
    private readonly BackendGate _gate;
    private readonly ServerMetrics _metrics;
    private int _depth;
    private double _lastJobSeconds = 1;

    /// <summary>A queue holding up to <paramref name="capacity"/> waiting jobs, its worker started.</summary>
    public EncoderQueue(int capacity, BackendGate gate, ServerMetrics metrics)
    {
        (_gate, _metrics) = (gate, metrics);
        Capacity = capacity;
        // Capacity 0 is a rendezvous: a job is taken only while the worker is idle.
        _jobs = Channel.CreateBounded<Job>(new BoundedChannelOptions(Math.Max(capacity, 1)) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _worker = new Thread(Work) { IsBackground = true, Name = "samengine encoder" };
        _worker.Start();
    }

    /// <summary>Jobs allowed to wait.</summary>
    public int Capacity { get; }

    /// <summary>Jobs waiting or running.</summary>
    public int Depth => Volatile.Read(ref _depth);

    /// <summary>True when a new job would be refused.</summary>
    public bool IsFull => Depth > Capacity;

    /// <summary>Seconds until the queue is expected to have drained (at least 1).</summary>
    public int RetryAfterSeconds => (int)Math.Clamp(Math.Ceiling(Depth * Volatile.Read(ref _lastJobSeconds)), 1, 3600);

    /// <summary>
    /// Runs <paramref name="work"/> on the worker when its turn comes; a 503 <see cref="ApiProblem"/> when
    /// the queue is full. The task ends with the work's result or exception.
    /// </summary>
    public Task<T> Run<T>(string what, Func<T> work)
    {
        if (Interlocked.Increment(ref _depth) > Capacity + 1 || !_jobs.Writer.TryWrite(new Job(() => work(), out var done)))
        {
            Interlocked.Decrement(ref _depth);
            throw Refuse(what);
        }
        return Result<T>(done);
    }

    /// <summary>A 503 now when the queue is full (before a request body is read for nothing).</summary>
    public void ThrowIfFull(string what)
    {
        if (IsFull) throw Refuse(what);
    }

    private ApiProblem Refuse(string what)
    {
        _metrics.EncoderRejected.Add(1);
        return ApiProblem.Busy($"the encoder queue is full ({Capacity} waiting behind the running job): retry {what} later", RetryAfterSeconds);
    }

    private static async Task<T> Result<T>(Task<object?> done) => (T)(await done)!;

    private void Work()
    {
        var reader = _jobs.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (reader.TryRead(out var job))
            {
                long start = Stopwatch.GetTimestamp();
                using (_gate.EnterEncoder()) job.Execute();
                Volatile.Write(ref _lastJobSeconds, Stopwatch.GetElapsedTime(start).TotalSeconds);
                Interlocked.Decrement(ref _depth);
            }
        }
    }

    /// <summary>Stops taking jobs; the worker ends after the waiting ones.</summary>
    public void Dispose() => _jobs.Writer.TryComplete();

    private sealed class Job
    {
        private readonly Func<object?> _work;
        private readonly TaskCompletionSource<object?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Job(Func<object?> work, out Task<object?> done) => (_work, done) = (work, _done.Task);

        public void Execute()
        {
            try { _done.SetResult(_work()); }
            catch (Exception e) { _done.SetException(e); }
        }
    }
}
