using SamEngine.Tests.Backends.Reference;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The depthwise conv with its folded norm and in-register activation, on every SIMD path, against the plain reference.</summary>
public class DepthwiseConvTests
{
    public static IEnumerable<object[]> Cases() =>
        from p in GemmTests.Paths()
        from s in new (int H, int W, int C, int Stride, Activation Act)[]
        {
            (9, 7, 64, 1, Activation.Gelu), // whole vectors on every path
            (6, 5, 19, 1, Activation.Relu), // a channel tail on every path
            (7, 8, 35, 2, Activation.None), // stride 2 over odd sizes
            (1, 1, 3, 1, Activation.Gelu), // a lone pixel: only the centre tap
            (5, 21, 48, 1, Activation.Gelu), // interior pixels by the register-blocked kernel, one border each side
            (6, 20, 40, 2, Activation.Gelu), // the same at stride 2, the right border without its last tap
            (2, 9, 17, 2, Activation.Relu), // two rows (the window's lower row outside) and a channel tail
        }
        select new object[] { p[0], s.H, s.W, s.C, s.Stride, s.Act };

    [Theory]
    [MemberData(nameof(Cases))]
    internal void MatchesReference(SimdPath path, int h, int w, int c, int stride, Activation act)
    {
        var rng = new Random(h * 31 + c);
        var random = new RandomConvWeights(rng);
        var weight = random.Parameter("conv2.c.weight", v => v, c, 1, 3, 3);
        var bn = random.BatchNorm("conv2", c);
        var x = new HostTensor(GemmTests.Random(rng, 2 * h * w * c).Select(v => 3 * v).ToArray(), [2, h, w, c]);
        using var be = new CpuBackend();
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        float[] got;
        try { got = be.ToHost(be.DepthwiseConv2dBn(be.FromHost(x.Data, 2, h, w, c), weight, bn, stride, act)); }
        finally { Gemm.ForcedPath = saved; }
        var want = OpReference.DepthwiseConv2dBn(x, weight, bn, stride, act);
        GemmTests.AssertClose(want.Data, got, $"{path} depthwise {h}x{w}x{c} stride {stride} {act}", atol: 1e-5f);
    }
}
