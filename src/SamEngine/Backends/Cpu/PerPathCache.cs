using System.Runtime.CompilerServices;
using SamEngine.Weights;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// Values a backend derives from a weight for one SIMD path's kernels (packed GEMM panels, score-bias
/// tables), made on first use and kept for the path last asked: a model runs on one path, and only
/// tests switch paths between calls (each switch remakes the value, never reuses another path's).
/// </summary>
internal sealed class PerPathCache<T> where T : class
{
    private sealed record Entry(SimdPath Path, T Value);

    private readonly ConditionalWeakTable<Parameter, Entry> _entries = new();

    /// <summary>The value of <paramref name="weight"/> for <paramref name="path"/>, made by <paramref name="make"/> if not kept.</summary>
    public T Get(Parameter weight, SimdPath path, Func<T> make)
    {
        if (_entries.TryGetValue(weight, out var entry) && entry.Path == path) return entry.Value;
        var value = make();
        _entries.AddOrUpdate(weight, new Entry(path, value));
        return value;
    }

    public void Clear() => _entries.Clear();
}
