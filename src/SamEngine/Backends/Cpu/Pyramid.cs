namespace SamEngine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public Tensor MaxPool2x2(Tensor x)
    {
        var shape = OpShapes.MaxPool2x2(x);
        var y = CpuTensor.Uninitialized(shape);
        Pyramid.MaxPool2x2(Cpu(x).Data, x.Dim(1), x.Dim(2), y.Data, shape[0], shape[1], shape[2], shape[3]);
        return y;
    }

    /// <inheritdoc />
    public Tensor AddUpsampled2x(Tensor x, Tensor coarse)
    {
        var (b, h, w, c) = OpShapes.AddUpsampled2x(x, coarse);
        var y = CpuTensor.Uninitialized(b, h, w, c);
        Pyramid.AddUpsampled2x(Cpu(x).Data, Cpu(coarse).Data, b, h, w, c, y.Data);
        return y;
    }
}

/// <summary>
/// The resolution changes of Hiera and its FPN neck in NHWC: a channel run per output pixel, so each
/// is a vector max or add over contiguous channels, output rows spread over the cores.
/// </summary>
internal static class Pyramid
{
    /// <summary>x [b, h, w, c] → y [b, oh, ow, c], y = max of the 2x2 block at (2i, 2j) (rows and columns past 2·oh, 2·ow are dropped).</summary>
    public static void MaxPool2x2(float[] x, int h, int w, float[] y, int b, int oh, int ow, int c) =>
        Elementwise.ForRanges(b * oh, Math.Max(1, Elementwise.ParallelGrain / Math.Max(1, ow * c)), (start, end) =>
        {
            for (int row = start; row < end; row++)
            {
                int bi = row / oh, i = row % oh;
                for (int j = 0; j < ow; j++)
                {
                    var dst = y.AsSpan((row * ow + j) * c, c);
                    int top = ((bi * h + 2 * i) * w + 2 * j) * c, bottom = top + w * c;
                    x.AsSpan(top, c).CopyTo(dst);
                    Elementwise.MaxInPlace(dst, x.AsSpan(top + c, c));
                    Elementwise.MaxInPlace(dst, x.AsSpan(bottom, c));
                    Elementwise.MaxInPlace(dst, x.AsSpan(bottom + c, c));
                }
            }
        });

    /// <summary>y [b, h, w, c] = x + coarse [b, h/2, w/2, c] at (i/2, j/2).</summary>
    public static void AddUpsampled2x(float[] x, float[] coarse, int b, int h, int w, int c, float[] y) =>
        Elementwise.ForRanges(b * h, Math.Max(1, Elementwise.ParallelGrain / Math.Max(1, w * c)), (start, end) =>
        {
            for (int row = start; row < end; row++)
            {
                int bi = row / h, i = row % h;
                for (int j = 0; j < w; j++)
                {
                    int at = (row * w + j) * c, from = ((bi * (h / 2) + i / 2) * (w / 2) + j / 2) * c;
                    Elementwise.Add(x.AsSpan(at, c), coarse.AsSpan(from, c), y.AsSpan(at, c));
                }
            }
        });
}
