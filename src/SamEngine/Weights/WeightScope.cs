namespace SamEngine.Weights;

/// <summary>
/// A view of a weight source under a name prefix, like candle's VarBuilder: modules receive a scope
/// already pointing at their prefix and ask for children by the official name
/// (<c>scope.Push("blocks").Push(3).Get("attn.qkv.weight", 3 * c, c)</c>).
/// The root scope records which names were used, so loading can be strict at the end.
/// </summary>
public sealed class WeightScope
{
    private readonly IWeightSource _source;
    private readonly string _prefix;
    private readonly HashSet<string> _used;
    private readonly List<string> _errors;

    /// <summary>Creates the root scope over a source.</summary>
    public WeightScope(IWeightSource source) : this(source, "", new HashSet<string>(StringComparer.Ordinal), new List<string>()) { }

    private WeightScope(IWeightSource source, string prefix, HashSet<string> used, List<string> errors)
    {
        _source = source;
        _prefix = prefix;
        _used = used;
        _errors = errors;
    }

    /// <summary>The scope for a child module.</summary>
    public WeightScope Push(string name) => new(_source, _prefix + name + ".", _used, _errors);

    /// <summary>The scope for the <paramref name="index"/>-th child of a list module.</summary>
    public WeightScope Push(int index) => Push(index.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// The weight <paramref name="name"/> under this scope with the given shape. A missing or misshapen
    /// tensor is recorded (all such problems are reported together by <see cref="Finish"/>) and a zero
    /// placeholder of the right shape is returned so that construction can continue.
    /// </summary>
    public Parameter Get(string name, params int[] shape)
    {
        string full = _prefix + name;
        _used.Add(full);
        try
        {
            return _source.Get(full, shape);
        }
        catch (WeightException e)
        {
            _errors.Add(e.Message);
            return new Parameter(full, shape, new ushort[ShapeUtil.Count(shape)]);
        }
    }

    /// <summary>
    /// Ends loading: throws one <see cref="WeightException"/> listing every missing, misshapen and
    /// unexpected tensor, or returns when the checkpoint matched the architecture exactly.
    /// </summary>
    public void Finish()
    {
        var unexpected = _source.Names.Where(n => !_used.Contains(n)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var problems = new List<string>(_errors);
        problems.AddRange(unexpected.Select(n => $"unexpected tensor '{n}'"));
        if (problems.Count == 0) return;
        const int shown = 12;
        string msg = string.Join("; ", problems.Take(shown));
        if (problems.Count > shown) msg += $"; and {problems.Count - shown} more";
        throw new WeightException($"weights do not match the architecture: {msg}");
    }
}
