using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Tests.Kernels;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends;

/// <summary>The host dense random-Fourier positional encoding (the default of <see cref="IBackend.DensePositionalEncoding"/>) against the formula in double.</summary>
public sealed class FourierFeaturesTests
{
    [Fact]
    public void DenseGridIsTheFourierFeaturesOfTheCellCentres()
    {
        const int grid = 5, half = 7;
        var g = new Parameter("pe_layer.positional_encoding_gaussian_matrix", [2, half], GeneratedWeights.Generate("pe_layer.positional_encoding_gaussian_matrix", [2, half], 2));
        var gf = g.ToFloat();
        var expected = new float[grid * grid * 2 * half];
        for (int cell = 0; cell < grid * grid; cell++)
            for (int j = 0; j < half; j++)
            {
                double x = (cell % grid + 0.5) / grid, y = (cell / grid + 0.5) / grid;
                double p = 2 * Math.PI * ((2 * x - 1) * gf[j] + (2 * y - 1) * gf[half + j]);
                expected[cell * 2 * half + j] = (float)Math.Sin(p);
                expected[cell * 2 * half + half + j] = (float)Math.Cos(p);
            }
        IBackend be = new CpuBackend();
        var pe = be.DensePositionalEncoding(g, grid);
        Assert.Equal([grid * grid, 2 * half], pe.Shape);
        KernelAssert.Close("dense pe", expected, be.ToHost(pe));
    }
}
