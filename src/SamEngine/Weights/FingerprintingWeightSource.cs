using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SamEngine.Weights;

/// <summary>
/// Passes weights through and keeps the list of those served, in request order, so that a model has
/// a fingerprint: SHA-256 over every weight's name, shape and fp16 bits. An embedding saved by one
/// model can then be refused by another with the same architecture but other weights. The hash is
/// computed when first asked for, not while loading (hashing ViT-H's 1.3 GB takes most of a second).
/// </summary>
internal sealed class FingerprintingWeightSource(IWeightSource inner) : IWeightSource
{
    private readonly List<Parameter> _served = [];

    /// <summary>Number of weight values served so far.</summary>
    public long ParameterCount { get; private set; }

    public IEnumerable<string> Names => inner.Names;

    public Parameter Get(string name, int[] shape)
    {
        var p = inner.Get(name, shape);
        _served.Add(p);
        ParameterCount += p.Length;
        return p;
    }

    /// <summary>The weights served so far, in request order.</summary>
    public IReadOnlyList<Parameter> Served => _served;

    /// <summary>The hex SHA-256 of the names, shapes and values of <paramref name="parameters"/>, in order.</summary>
    public static string Fingerprint(IEnumerable<Parameter> parameters)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var p in parameters)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(p.Name + ShapeUtil.Format(p.Shape)));
            hash.AppendData(MemoryMarshal.AsBytes(p.HalfBits));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
