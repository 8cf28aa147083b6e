using SamEngine.Backends.Cpu;
using SamEngine.Tests.Backends.Reference;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The CPU Conv2d (im2col in bands of output rows, then the GEMM) against the scalar reference.</summary>
public class ConvTests
{
    [Theory]
    [InlineData(1, 70, 64, 128, 8, 3, 1, 1, true)]    // 3x3 "neck" conv: three bands of output rows
    [InlineData(2, 70, 66, 256, 6, 3, 2, 0, true)]    // two images, stride 2, no padding: bands within each image
    [InlineData(1, 64, 48, 3, 16, 16, 16, 0, false)]  // patch embedding: stride = kernel, one band
    public void MatchesPlainConvolution(int batch, int h, int w, int cin, int cout, int k, int stride, int padding, bool banded)
    {
        var rng = new Random(h * 100 + cin);
        var x = GemmTests.Random(rng, batch * h * w * cin);
        var weight = new Parameter("conv.weight", [cout, cin, k, k], GemmTests.Random(rng, cout * cin * k * k).Select(Fp16.FromFloat).ToArray());
        var bias = new Parameter("conv.bias", [cout], GemmTests.Random(rng, cout).Select(Fp16.FromFloat).ToArray());
        int ho = (h + 2 * padding - k) / stride + 1, wo = (w + 2 * padding - k) / stride + 1;
        Assert.Equal(banded, ho * wo * k * k * cin > CpuBackend.PatchBandFloats);

        var be = new CpuBackend();
        using var input = be.FromHost(x, batch, h, w, cin);
        using var y = be.Conv2d(input, weight, bias, stride, padding);
        Assert.Equal([batch, ho, wo, cout], y.Shape);
        var want = OpReference.Conv2d(new HostTensor(x, [batch, h, w, cin]), weight, bias, stride, padding);
        GemmTests.AssertClose(want.Data, be.ToHost(y), $"conv {k}x{k}/{stride}");
    }
}
