using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Bench;

/// <summary>Deterministic benchmark inputs.</summary>
internal static class Data
{
    public static float[] Random(Random rng, int n)
    {
        var r = new float[n];
        for (int i = 0; i < n; i++) r[i] = (float)(rng.NextDouble() * 2 - 1);
        return r;
    }

    /// <summary>An fp16 parameter of <paramref name="shape"/> with values offset + scale · u, u uniform in [-1, 1).</summary>
    public static Parameter HalfParameter(Random rng, string name, float scale, float offset, params int[] shape) =>
        new(name, shape, Random(rng, (int)ShapeUtil.Count(shape)).Select(v => Fp16.FromFloat(offset + scale * v)).ToArray());

    /// <summary>The BatchNorm <c>{prefix}weight</c>, <c>bias</c>, <c>running_mean</c>, <c>running_var</c> (near 1) over <paramref name="channels"/>.</summary>
    public static BatchNorm BatchNorm(Random rng, string prefix, int channels) => new(HalfParameter(rng, prefix + "weight", 1, 0, channels),
        HalfParameter(rng, prefix + "bias", 1, 0, channels), HalfParameter(rng, prefix + "running_mean", 0.1f, 0, channels),
        HalfParameter(rng, prefix + "running_var", 0.1f, 1, channels), 1e-5f);
}
