using System.Diagnostics;
using SamEngine.Backends;

namespace SamEngine.Cli;

/// <summary>
/// Times work for <c>samengine bench</c>. Every timed call ends with <see cref="IBackend.Synchronize"/>
/// inside the measured region, so an asynchronous device (ILGPU) is timed finishing the work, not
/// queueing it. When <paramref name="backend"/> is a <see cref="ProfilingBackend"/>, its op times are
/// reset after the warm-up and reported per timed run.
/// </summary>
/// <param name="backend">The backend the timed work runs on.</param>
/// <param name="clock">The wall clock (<see cref="TimeProvider.System"/>; a test's own to see when it is read).</param>
/// <param name="progress">Where each measurement's summary line goes.</param>
public sealed class BenchTimer(IBackend backend, TimeProvider clock, Action<string> progress)
{
    /// <summary>
    /// One warm-up call, then the median of <paramref name="runs"/> timed calls, in ms of wall time.
    /// The process CPU time per call goes to the progress line too: on a shared machine it shows how
    /// much of the wall time was spent waiting for the cores. The warm-up's time is printed too: it
    /// pays the one-time costs (weights read from a mapped file on first touch, cached conversions).
    /// </summary>
    public double Median(int runs, Action run, string what)
    {
        using var self = Process.GetCurrentProcess();
        var warmUpCpu = self.TotalProcessorTime;
        double warmUpMs = Time(run);
        self.Refresh();
        progress($"{what}: warm-up {warmUpMs:F1} ms wall, {(self.TotalProcessorTime - warmUpCpu).TotalMilliseconds:F1} ms CPU");
        var profiler = backend as ProfilingBackend;
        profiler?.Reset();
        var times = new double[runs];
        var cpuStart = self.TotalProcessorTime;
        for (int i = 0; i < runs; i++) times[i] = Time(run);
        self.Refresh();
        double cpuMs = (self.TotalProcessorTime - cpuStart).TotalMilliseconds / runs;
        Array.Sort(times);
        double median = runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
        progress($"{what}: {median:F1} ms wall (median of {runs}), {cpuMs:F1} ms CPU per run on {Environment.ProcessorCount} cores");
        if (profiler is not null)
            foreach (var (op, calls, ms) in profiler.Report())
                progress($"  {ms / runs,9:F2} ms/run  {calls / runs,4} calls  {op}");
        return median;
    }

    /// <summary>Wall time of one call of <paramref name="run"/>, in ms, the backend synchronised before the clock is read.</summary>
    public double Time(Action run)
    {
        long start = clock.GetTimestamp();
        run();
        backend.Synchronize();
        return clock.GetElapsedTime(start).TotalMilliseconds;
    }
}
