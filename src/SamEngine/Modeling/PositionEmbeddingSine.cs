namespace SamEngine.Modeling;

/// <summary>
/// SAM 2's <c>PositionEmbeddingSine</c> (<c>sam2/modeling/position_encoding.py</c>) with the settings of
/// every official config: normalize=True, scale 2π, temperature 10000. It depends on the grid's size
/// only, so it is computed on the host, in float32 as upstream's own steps round.
/// </summary>
public static class PositionEmbeddingSine
{
    private const float Temperature = 10000f, Eps = 1e-6f, Scale = 2 * MathF.PI;

    /// <summary>
    /// The encoding of an <paramref name="h"/> x <paramref name="w"/> grid with <paramref name="d"/>
    /// features (num_pos_feats, even): NHWC [h, w, d], the first d/2 channels encoding the row, the last
    /// d/2 the column; channel j of each half is sin (j even) or cos (j odd) of pos / 10000^(2⌊j/2⌋ / (d/2)),
    /// pos = (i + 1) / (n + 1e-6) · 2π for row or column i of n.
    /// </summary>
    public static float[] Encode(int d, int h, int w)
    {
        if (d < 2 || d % 2 != 0 || h < 1 || w < 1) throw new ArgumentException($"a sine position encoding of {d} features over {h}x{w} cells");
        int half = d / 2;
        var dimT = new float[half];
        for (int j = 0; j < half; j++) dimT[j] = MathF.Pow(Temperature, 2 * (j / 2) / (float)half);
        float[] Axis(int n, int i) // the d/2 features of row or column i of n
        {
            float pos = (i + 1) / (n + Eps) * Scale;
            var r = new float[half];
            for (int j = 0; j < half; j++) r[j] = j % 2 == 0 ? MathF.Sin(pos / dimT[j]) : MathF.Cos(pos / dimT[j]);
            return r;
        }
        var rows = Enumerable.Range(0, h).Select(i => Axis(h, i)).ToArray();
        var cols = Enumerable.Range(0, w).Select(i => Axis(w, i)).ToArray();
        var y = new float[(long)h * w * d];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
            {
                rows[i].CopyTo(y, (i * w + j) * d);
                cols[j].CopyTo(y, (i * w + j) * d + half);
            }
        return y;
    }
}
