using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Tests.Backends.Reference;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The fused output upscaling and mask product against the scalar reference of the ops run one by one.</summary>
public class MaskUpscalingTests
{
    public static IEnumerable<object[]> Cases() =>
        from path in GemmTests.Paths().Select(p => (SimdPath)p[0])
        from shape in new (int B, int G, int D, int C1, int C, int Masks)[]
        {
            (2, 3, 16, 8, 4, 4),   // SAM's ratios at a tiny size
            (1, 5, 20, 6, 3, 3),   // odd channel counts and grid
            (3, 1, 8, 4, 2, 1),    // one grid cell, one mask
            (1, 2, 12, 5, 7, 40),  // more masks than a register tile is wide
            (2, 3, 32, 16, 16, 3), // channels in whole 8 x 8 transposes, a row of 12 positions (8 blocked, 4 left)
        }
        select new object[] { path, shape.B, shape.G, shape.D, shape.C1, shape.C, shape.Masks };

    [Theory]
    [MemberData(nameof(Cases))]
    internal void FusedMatchesComposition(SimdPath path, int b, int g, int d, int c1, int c, int masks)
    {
        var rng = new Random(g * 100 + d + masks);
        var w = new UpscalingWeights(P(rng, "0.weight", d, c1, 2, 2), P(rng, "0.bias", c1), P(rng, "1.weight", c1), P(rng, "1.bias", c1), 1e-6f,
            P(rng, "3.weight", c1, c, 2, 2), P(rng, "3.bias", c));
        using var be = new CpuBackend();
        var x = be.FromHost(GemmTests.Random(rng, b * g * g * d), b, g, g, d);
        var hyper = be.FromHost(GemmTests.Random(rng, b * masks * c), b, masks, c);
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try
        {
            var got = be.UpscaledMaskLogits(x, w, hyper);
            var want = OpReference.UpscaledMaskLogits(new HostTensor(be.ToHost(x), x.Shape), w, new HostTensor(be.ToHost(hyper), hyper.Shape));
            Assert.Equal(new[] { b, masks, 16 * g * g }, got.Shape);
            GemmTests.AssertClose(want.Data, be.ToHost(got), $"{path} upscaling b{b} g{g} d{d}", atol: 1e-5f);
        }
        finally { Gemm.ForcedPath = saved; }
    }

    /// <summary>SAM 2.1's high-resolution skips in the fused path, on every SIMD path, against the scalar reference.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    internal void FusedWithHighResSkipsMatchesComposition(SimdPath path, int b, int g, int d, int c1, int c, int masks)
    {
        var rng = new Random(g * 100 + d + masks + 1);
        var w = new UpscalingWeights(P(rng, "0.weight", d, c1, 2, 2), P(rng, "0.bias", c1), P(rng, "1.weight", c1), P(rng, "1.bias", c1), 1e-6f,
            P(rng, "3.weight", c1, c, 2, 2), P(rng, "3.bias", c));
        using var be = new CpuBackend();
        var x = be.FromHost(GemmTests.Random(rng, b * g * g * d), b, g, g, d);
        var hyper = be.FromHost(GemmTests.Random(rng, b * masks * c), b, masks, c);
        var s1 = be.FromHost(GemmTests.Random(rng, 4 * g * g * c1), 1, 2 * g, 2 * g, c1);
        var s0 = be.FromHost(GemmTests.Random(rng, 16 * g * g * c), 1, 4 * g, 4 * g, c);
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try
        {
            var got = be.ToHost(be.UpscaledMaskLogits(x, w, hyper, s1, s0));
            HostTensor Host(Tensor t) => new(be.ToHost(t), t.Shape);
            var want = OpReference.UpscaledMaskLogits(Host(x), w, Host(hyper), Host(s1), Host(s0));
            GemmTests.AssertClose(want.Data, got, $"{path} upscaling with skips b{b} g{g} d{d}", atol: 1e-5f);
            // The skips change the logits: a path that ignored them would not pass.
            var without = OpReference.UpscaledMaskLogits(Host(x), w, Host(hyper));
            Assert.True(want.Data.Zip(without.Data).Max(p => Math.Abs(p.First - p.Second)) > 1e-2f);
        }
        finally { Gemm.ForcedPath = saved; }
    }

    [Fact]
    public void HyperOfTheWrongWidthIsNamed()
    {
        var rng = new Random(3);
        var w = new UpscalingWeights(P(rng, "0.weight", 8, 4, 2, 2), P(rng, "0.bias", 4), P(rng, "1.weight", 4), P(rng, "1.bias", 4), 1e-6f,
            P(rng, "3.weight", 4, 2, 2, 2), P(rng, "3.bias", 2));
        using var be = new CpuBackend();
        var e = Assert.Throws<ArgumentException>(() => be.UpscaledMaskLogits(be.FromHost(new float[2 * 2 * 8], 1, 2, 2, 8), w, be.FromHost(new float[3 * 5], 1, 3, 5)));
        Assert.Contains("hypernetwork", e.Message);
    }

    private static Parameter P(Random rng, string name, params int[] shape) =>
        new(name, shape, GemmTests.Random(rng, (int)ShapeUtil.Count(shape)).Select(v => Fp16.FromFloat(v * 0.7f)).ToArray());
}
