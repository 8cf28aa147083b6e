using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Cli;

namespace SamEngine.Tests.Cli;

/// <summary><see cref="BenchTimer"/>: the backend is synchronised inside every timed region, before the clock is read.</summary>
public sealed class BenchTimerTests
{
    /// <summary>A clock that notes, at every read, how often the backend had been synchronised by then.</summary>
    private sealed class WatchedClock(Func<int> synchronizations, List<(string Event, int Synchronizations)> log) : TimeProvider
    {
        private long _ticks;

        public override long GetTimestamp()
        {
            log.Add(("clock", synchronizations()));
            return _ticks += TimestampFrequency / 1000;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Every_timing_synchronises_after_the_work_and_before_the_clock_stops(int runs)
    {
        using var profiler = new ProfilingBackend(new CpuBackend());
        int Synchronizations() => profiler.Report().Where(r => r.Op == nameof(IBackend.Synchronize)).Sum(r => r.Calls);
        var log = new List<(string Event, int Synchronizations)>();
        var timer = new BenchTimer(profiler, new WatchedClock(Synchronizations, log), _ => { });
        var input = new float[] { 1, 2, 3, 4 };

        double ms = timer.Median(runs, () =>
        {
            using var x = profiler.FromHost(input, 1, 4);
            using var y = profiler.Add(x, x);
            log.Add(("work done", Synchronizations()));
        }, "test");

        Assert.Equal(1.0, ms); // the watched clock advances 1 ms per read
        Assert.Equal(3 * (runs + 1), log.Count); // the warm-up and each run: start, work, stop
        for (int i = 0; i < log.Count; i += 3)
        {
            var (start, work, stop) = (log[i], log[i + 1], log[i + 2]);
            Assert.Equal(("clock", "work done", "clock"), (start.Event, work.Event, stop.Event));
            Assert.Equal(start.Synchronizations, work.Synchronizations); // the work itself did not synchronise
            Assert.Equal(work.Synchronizations + 1, stop.Synchronizations); // once after it, before the clock stopped
        }
    }
}
