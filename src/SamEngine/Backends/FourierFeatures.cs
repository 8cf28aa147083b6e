namespace SamEngine.Backends;

/// <summary>
/// The prompt encoder's random-Fourier features, float32 as upstream computes them:
/// [sin(2π (2c - 1) G), cos(2π (2c - 1) G)] for normalised coordinates c = (x, y) in [0, 1] and the
/// gaussian matrix G [2, D/2]. The host form of <see cref="IBackend.DensePositionalEncoding"/> and the
/// specification of the ILGPU positional-encoding kernels.
/// </summary>
public static class FourierFeatures
{
    /// <summary>Writes the D features of (<paramref name="x"/>, <paramref name="y"/>) into <paramref name="dst"/>.</summary>
    public static void Encode(float x, float y, ReadOnlySpan<float> gaussian, Span<float> dst)
    {
        int half = gaussian.Length / 2;
        float cx = 2f * x - 1f, cy = 2f * y - 1f;
        const float twoPi = (float)(2 * Math.PI);
        for (int j = 0; j < half; j++)
        {
            float p = twoPi * (cx * gaussian[j] + cy * gaussian[half + j]);
            dst[j] = MathF.Sin(p);
            dst[half + j] = MathF.Cos(p);
        }
    }

    /// <summary>The features of the <paramref name="grid"/> x <paramref name="grid"/> cell centres: [g·g, D], row-major over (y, x).</summary>
    public static float[] DenseGrid(ReadOnlySpan<float> gaussian, int grid)
    {
        int d = gaussian.Length;
        var pe = new float[grid * grid * d];
        for (int y = 0; y < grid; y++)
            for (int x = 0; x < grid; x++)
                Encode((x + 0.5f) / grid, (y + 0.5f) / grid, gaussian, pe.AsSpan((y * grid + x) * d, d));
        return pe;
    }
}
