using System.Collections.Concurrent;

namespace SamEngine.Bench.Load;

/// <summary>Latencies and outcomes per endpoint, from many clients at once.</summary>
internal sealed class LatencyLog
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<double>> _ms = new();
    private readonly ConcurrentDictionary<string, int> _outcomes = new();

    /// <summary>Records a 2xx answer to <paramref name="endpoint"/> after <paramref name="ms"/>.</summary>
    public void Ok(string endpoint, double ms) => _ms.GetOrAdd(endpoint, _ => []).Add(ms);

    /// <summary>Counts an outcome that is not a plain success (an error status, a refusal, a retry).</summary>
    public void Count(string outcome) => _outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);

    public IReadOnlyDictionary<string, int> Outcomes => _outcomes;

    /// <summary>One row per endpoint: count, rate, p50, p99, max.</summary>
    public IEnumerable<(string Endpoint, int Count, double PerSecond, double P50, double P99, double Max)> Rows(double seconds) =>
        _ms.OrderBy(p => p.Key).Select(p =>
        {
            var sorted = p.Value.ToArray();
            Array.Sort(sorted);
            return (p.Key, sorted.Length, sorted.Length / seconds, Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted[^1]);
        });

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double q) =>
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}
