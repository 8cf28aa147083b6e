using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SamEngine.Weights;

/// <summary>
/// Passes weights through while hashing every one served (name, shape and fp16 bits, in request
/// order), so that a model has a fingerprint: an embedding saved by one model can then be refused by
/// another with the same architecture but other weights.
/// </summary>
internal sealed class FingerprintingWeightSource(IWeightSource inner) : IWeightSource
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>Number of weight values served so far.</summary>
    public long ParameterCount { get; private set; }

    public IEnumerable<string> Names => inner.Names;

    public Parameter Get(string name, int[] shape)
    {
        var p = inner.Get(name, shape);
        _hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name + ShapeUtil.Format(p.Shape)));
        _hash.AppendData(MemoryMarshal.AsBytes(p.HalfBits.AsSpan()));
        ParameterCount += p.Length;
        return p;
    }

    /// <summary>The hex SHA-256 of everything served.</summary>
    public string Finish() => Convert.ToHexStringLower(_hash.GetHashAndReset());
}
