using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace SamEngine.Kernels;

/// <summary>
/// The prompt encoder's random-Fourier positional encoding, [sin(2π (2c - 1) G), cos(2π (2c - 1) G)]
/// with G the fp16 gaussian matrix [2, D/2]: for the dense grid (cell centres) and for point / box
/// corner coordinates, which are given normalised to [0, 1].
/// </summary>
public static class PositionalEncodingKernels
{
    private static void Encode<TAct>(float x, float y, ArrayView<ushort> gaussian, int half, int j, TAct dst, int offset)
        where TAct : struct, IActivations<TAct>
    {
        float cx = 2f * x - 1f, cy = 2f * y - 1f;
        float p = 6.2831853071795865f * (cx * DeviceMath.HalfToFloat(gaussian[j]) + cy * DeviceMath.HalfToFloat(gaussian[half + j]));
        dst.Store(offset + j, XMath.Sin(p));
        dst.Store(offset + half + j, XMath.Cos(p));
    }

    /// <summary>Dense grid tokens [g·g, D] (row-major y, x); i runs over g·g·D/2.</summary>
    public static void DenseGrid<TAct>(Index1D i, ArrayView<ushort> gaussian, TAct y, int grid, int half)
        where TAct : struct, IActivations<TAct>
    {
        int j = i % half, cell = i / half, gy = cell / grid, gx = cell - gy * grid;
        Encode((gx + 0.5f) / grid, (gy + 0.5f) / grid, gaussian, half, j, y, cell * 2 * half);
    }

    /// <summary>Points [n, 2] (x, y normalised) → [n, D]; i runs over n·D/2.</summary>
    public static void Points<TAct>(Index1D i, TAct coords, ArrayView<ushort> gaussian, TAct y, int half)
        where TAct : struct, IActivations<TAct>
    {
        int j = i % half, p = i / half;
        Encode(coords.Load(2 * p), coords.Load(2 * p + 1), gaussian, half, j, y, p * 2 * half);
    }
}

/// <summary>Loads the positional-encoding kernels for one activation format on one accelerator and launches them.</summary>
public sealed class PositionalEncodingLauncher<TAct>(Accelerator accelerator) where TAct : struct, IActivations<TAct>
{
    private readonly Lazy<Action<Index1D, ArrayView<ushort>, TAct, int, int>> _grid =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<ushort>, TAct, int, int>(PositionalEncodingKernels.DenseGrid));
    private readonly Lazy<Action<Index1D, TAct, ArrayView<ushort>, TAct, int>> _points =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, ArrayView<ushort>, TAct, int>(PositionalEncodingKernels.Points));

    /// <summary>y [g·g, D] for a <paramref name="grid"/> x <paramref name="grid"/> embedding grid.</summary>
    public void DenseGrid(ArrayView<ushort> gaussian, int grid, int dim, TAct y) =>
        _grid.Value(grid * grid * (dim / 2), gaussian, y, grid, dim / 2);

    /// <summary>y [n, D] for <paramref name="n"/> normalised coordinates.</summary>
    public void Points(TAct coords, int n, ArrayView<ushort> gaussian, int dim, TAct y)
    {
        if (n > 0) _points.Value(n * (dim / 2), coords, gaussian, y, dim / 2);
    }
}
