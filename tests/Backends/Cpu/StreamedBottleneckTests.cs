using SamEngine.Backends;
using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>
/// The CPU's row-streamed inverted bottleneck against the same op composed of its three convs on the
/// CPU backend, on every SIMD path: several bands per image (their first rows recomputed), stride 2,
/// a batch of two, channel counts off the vector width.
/// </summary>
public class StreamedBottleneckTests
{
    public static IEnumerable<object[]> Cases() =>
        from p in GemmTests.Paths()
        from s in new (int H, int W, int C, int Hidden, int Cout, int Stride, bool Residual)[]
        {
            (19, 17, 16, 64, 16, 1, true), // MBConv: expand 4x, residual, GELU; 19 rows over several bands
            (20, 13, 16, 35, 35, 2, false), // PatchMerging: stride 2, odd hidden width
            (3, 2, 7, 9, 7, 1, true), // fewer rows than bands
        }
        select new object[] { p[0], s.H, s.W, s.C, s.Hidden, s.Cout, s.Stride, s.Residual };

    [Fact]
    public void OneBackendServesTheSameWeightsOnEveryPathInTurn()
    {
        // The packed 1x1 convs are cached per weight: a later call on another path must not reuse a
        // layout packed for the first.
        var rng = new Random(11);
        var random = new RandomConvWeights(rng);
        var weights = new InvertedBottleneckWeights(random.Parameter("conv1.c.weight", v => 0.3f * v, 40, 12, 1, 1), random.BatchNorm("conv1", 40),
            random.Parameter("conv2.c.weight", v => v, 40, 1, 3, 3), random.BatchNorm("conv2", 40), 1,
            random.Parameter("conv3.c.weight", v => 0.3f * v, 12, 40, 1, 1), random.BatchNorm("conv3", 12));
        var x = GemmTests.Random(rng, 9 * 7 * 12);
        using var be = new CpuBackend();
        using var xt = be.FromHost(x, 1, 9, 7, 12);
        var want = be.ToHost(ComposedOps.InvertedBottleneck(be, xt, weights, Activation.None, null));
        var saved = Gemm.ForcedPath;
        try
        {
            foreach (var p in GemmTests.Paths().Select(p => (SimdPath)p[0]).Concat(GemmTests.Paths().Select(p => (SimdPath)p[0])))
            {
                Gemm.ForcedPath = p;
                GemmTests.AssertClose(want, be.ToHost(be.InvertedBottleneck(xt, weights)), $"{p} after other paths", atol: 1e-5f);
            }
        }
        finally { Gemm.ForcedPath = saved; }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    internal void MatchesTheComposedConvs(SimdPath path, int h, int w, int c, int hidden, int cout, int stride, bool residual)
    {
        var rng = new Random(h * 7 + c + stride);
        var random = new RandomConvWeights(rng);
        var weights = new InvertedBottleneckWeights(random.Parameter("conv1.c.weight", v => 0.3f * v, hidden, c, 1, 1), random.BatchNorm("conv1", hidden),
            random.Parameter("conv2.c.weight", v => v, hidden, 1, 3, 3), random.BatchNorm("conv2", hidden), stride,
            random.Parameter("conv3.c.weight", v => 0.3f * v, cout, hidden, 1, 1), random.BatchNorm("conv3", cout));
        int ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1;
        var x = GemmTests.Random(rng, 2 * h * w * c);
        var r = residual ? GemmTests.Random(rng, 2 * ho * wo * cout) : null;
        var act = residual ? Activation.Gelu : Activation.None;
        using var be = new CpuBackend();
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try
        {
            using var xt = be.FromHost(x, 2, h, w, c);
            using var rt = r is null ? null : be.FromHost(r, 2, ho, wo, cout);
            var got = be.ToHost(be.InvertedBottleneck(xt, weights, act, rt));
            var want = be.ToHost(ComposedOps.InvertedBottleneck(be, xt, weights, act, rt));
            GemmTests.AssertClose(want, got, $"{path} bottleneck {h}x{w} {c}->{hidden}->{cout} stride {stride}", atol: 1e-5f);
        }
        finally { Gemm.ForcedPath = saved; }
    }
}
