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
}
