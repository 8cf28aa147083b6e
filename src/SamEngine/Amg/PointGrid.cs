namespace SamEngine.Amg;

/// <summary>
/// The point grids of the official generator (<c>build_point_grid</c>, <c>build_all_layer_point_grids</c>):
/// n x n points evenly spaced in [0, 1]², half a step in from each border, row by row (x fastest).
/// </summary>
public static class PointGrid
{
    /// <summary>
    /// An n x n grid of normalised points (x, y), as <c>np.linspace(1/(2n), 1 - 1/(2n), n)</c>
    /// computes its values (start + i · step, the last one exactly the stop).
    /// </summary>
    public static (double X, double Y)[] Build(int nPerSide)
    {
        if (nPerSide <= 0) throw new ArgumentException($"a point grid needs at least 1 point per side, got {nPerSide}");
        double offset = 1.0 / (2 * nPerSide);
        var side = new double[nPerSide];
        double start = offset, stop = 1 - offset;
        if (nPerSide == 1) side[0] = start;
        else
        {
            double step = (stop - start) / (nPerSide - 1);
            for (int i = 0; i < nPerSide; i++) side[i] = i * step + start;
            side[^1] = stop;
        }
        var points = new (double X, double Y)[nPerSide * nPerSide];
        for (int row = 0; row < nPerSide; row++)
            for (int col = 0; col < nPerSide; col++) points[row * nPerSide + col] = (side[col], side[row]);
        return points;
    }

    /// <summary>
    /// One grid per crop layer 0..<paramref name="nLayers"/>: layer i has
    /// <c>int(n / scale^i)</c> points per side.
    /// </summary>
    public static (double X, double Y)[][] BuildAllLayers(int nPerSide, int nLayers, int scalePerLayer)
    {
        var grids = new (double X, double Y)[nLayers + 1][];
        for (int i = 0; i <= nLayers; i++)
        {
            int n = (int)(nPerSide / Math.Pow(scalePerLayer, i));
            if (n <= 0) throw new ArgumentException($"crop layer {i} gets no points: points_per_side {nPerSide} / crop_n_points_downscale_factor {scalePerLayer}^{i} < 1");
            grids[i] = Build(n);
        }
        return grids;
    }
}
