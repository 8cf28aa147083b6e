using System.Globalization;

namespace SamEngine.Batch;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> (0-based): image k of the sorted list (0-based) belongs
/// to shard k mod <see cref="Count"/>, so the shards are disjoint, cover the list, and differ in size by
/// at most one image, whatever the order of the folders.
/// </summary>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>The whole list, unsharded.</summary>
    public static readonly Shard All = new(0, 1);

    /// <summary>The images of <paramref name="images"/> (sorted, as <see cref="ImageList"/> gives them) in this shard.</summary>
    public IReadOnlyList<BatchImage> Select(IReadOnlyList<BatchImage> images)
    {
        var (index, count) = (Index, Count);
        return images.Where((_, k) => k % count == index).ToArray();
    }

    /// <summary><c>I/N</c>, as <c>--shard</c> takes it.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    /// <summary>Reads <c>I/N</c> with 0 &lt;= I &lt; N; throws <see cref="FormatException"/> naming the text.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && TryInt(parts[0], out int i) && TryInt(parts[1], out int n) && n >= 1 && i < n) return new Shard(i, n);
        throw new FormatException($"--shard needs I/N with 0 <= I < N (e.g. 0/4), got '{text}'");
    }

    /// <summary>
    /// The shard when <c>--shard</c> is not given: from a Slurm job array (<c>SLURM_ARRAY_TASK_ID</c> minus
    /// <c>SLURM_ARRAY_TASK_MIN</c>, of <c>SLURM_ARRAY_TASK_COUNT</c>), else from a Kubernetes Indexed Job
    /// (<c>JOB_COMPLETION_INDEX</c> of <paramref name="shards"/>, which <c>--shards</c> gives: the Job does not
    /// tell its pods its completions), else the whole list. Throws <see cref="ArgumentException"/> when the
    /// variables are not whole numbers or out of range, or an Indexed Job's index comes without <c>--shards</c>.
    /// </summary>
    public static Shard FromEnvironment(Func<string, string?> env, int? shards)
    {
        if (env("SLURM_ARRAY_TASK_ID") is { } id && env("SLURM_ARRAY_TASK_COUNT") is { } count)
        {
            int min = env("SLURM_ARRAY_TASK_MIN") is { } m ? Int("SLURM_ARRAY_TASK_MIN", m) : 0;
            int n = shards ?? Int("SLURM_ARRAY_TASK_COUNT", count), i = Int("SLURM_ARRAY_TASK_ID", id) - min;
            return Checked(i, n, $"SLURM_ARRAY_TASK_ID {id} (minimum {min}) of SLURM_ARRAY_TASK_COUNT {count}; use --array=0-{n - 1}");
        }
        if (env("JOB_COMPLETION_INDEX") is { } index)
        {
            if (shards is not { } n) throw new ArgumentException("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give --shards N, the Job's completions");
            return Checked(Int("JOB_COMPLETION_INDEX", index), n, $"JOB_COMPLETION_INDEX {index} of --shards {n}");
        }
        return shards is { } only ? throw new ArgumentException($"--shards {only} needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or --shard I/N") : All;
    }

    private static Shard Checked(int i, int n, string what) =>
        n >= 1 && i >= 0 && i < n ? new Shard(i, n) : throw new ArgumentException($"shard out of range: {what}");

    private static int Int(string name, string text) =>
        TryInt(text, out int v) ? v : throw new ArgumentException($"{name} is '{text}', not a whole number");

    private static bool TryInt(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
