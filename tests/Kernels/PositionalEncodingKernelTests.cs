using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Tests.Kernels;

/// <summary>The random-Fourier positional encoding kernels against the formula evaluated in double on the host.</summary>
public abstract class PositionalEncodingKernelTests : KernelTestBase
{
    private static float[] Expected(float[] g, int half, IEnumerable<(double X, double Y)> coords) => coords.SelectMany(c =>
    {
        var row = new float[2 * half];
        for (int j = 0; j < half; j++)
        {
            double p = 2 * Math.PI * ((2 * c.X - 1) * g[j] + (2 * c.Y - 1) * g[half + j]);
            row[j] = (float)Math.Sin(p);
            row[half + j] = (float)Math.Cos(p);
        }
        return row;
    }).ToArray();

    [AcceleratorFact]
    public void DenseGridOfCellCentres()
    {
        const int grid = 7, half = 6;
        var g = Param("pe_layer.positional_encoding_gaussian_matrix", 2, half);
        var cells = Enumerable.Range(0, grid * grid).Select(i => ((i % grid + 0.5) / grid, (i / grid + 0.5) / grid));
        var y = Device.DensePositionalEncoding(g, grid);
        AssertClose("dense pe", Expected(g.ToFloat(), half, cells), Device.ToHost(y));
    }

    [AcceleratorFact]
    public void PointsAndBoxCorners()
    {
        const int half = 5;
        var g = Param("pe_layer.positional_encoding_gaussian_matrix", 2, half);
        var coords = Stored(Values(3, 6).Select(v => (v + 1) / 2).ToArray()); // three points in [0, 1]²
        var y = Device.PointPositionalEncoding(Device.FromHost(coords, 3, 2), g);
        var pts = Enumerable.Range(0, 3).Select(i => ((double)coords[2 * i], (double)coords[2 * i + 1]));
        AssertClose("point pe", Expected(g.ToFloat(), half, pts), Device.ToHost(y));
    }
}

[Accelerator(IlgpuDeviceKind.Cpu), Collection("ilgpu")] public sealed class PositionalEncodingKernelsOnCpuAccelerator : PositionalEncodingKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda), Collection("ilgpu")] public sealed class PositionalEncodingKernelsOnCuda : PositionalEncodingKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL), Collection("ilgpu")] public sealed class PositionalEncodingKernelsOnOpenCL : PositionalEncodingKernelTests;
[Accelerator(IlgpuDeviceKind.Cpu, Precision.Fp16), Collection("ilgpu")] public sealed class PositionalEncodingKernelsFp16OnCpuAccelerator : PositionalEncodingKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda, Precision.Fp16), Collection("ilgpu")] public sealed class PositionalEncodingKernelsFp16OnCuda : PositionalEncodingKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL, Precision.Fp16), Collection("ilgpu")] public sealed class PositionalEncodingKernelsFp16OnOpenCL : PositionalEncodingKernelTests;
