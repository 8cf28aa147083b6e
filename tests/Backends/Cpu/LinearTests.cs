using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Tests.Backends.Reference;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The CPU backend's Linear on both of its paths (few rows: <see cref="SmallRowLinear"/>; many: the packed GEMM).</summary>
public class LinearTests
{
    [Theory]
    [InlineData(1, 5, 3)]      // a single token
    [InlineData(7, 256, 256)]  // the decoder's tokens
    [InlineData(6, 37, 19)]    // column tails: one-vector strips and scalar columns, a partial row tile
    [InlineData(56, 2048, 256)] // a pass of 8 prompts x 7 tokens, enough work to split columns
    [InlineData(63, 600, 300)] // the last row count of the small path
    [InlineData(64, 33, 17)]   // the first of the GEMM path
    public void MatchesScalarReference(int m, int n, int k)
    {
        var rng = new Random(m * 7 + n);
        var x = GemmTests.Random(rng, m * k);
        var w = new Parameter("lin.weight", [n, k], GemmTests.Random(rng, n * k).Select(Fp16.FromFloat).ToArray());
        var b = new Parameter("lin.bias", [n], GemmTests.Random(rng, n).Select(Fp16.FromFloat).ToArray());
        using var be = new CpuBackend();
        var saved = Gemm.ForcedPath;
        foreach (var path in GemmTests.Paths().Select(p => (SimdPath)p[0]))
        foreach (var act in new[] { Activation.None, Activation.Relu, Activation.Gelu })
        {
            Gemm.ForcedPath = path;
            float[] got;
            try { got = be.ToHost(be.Linear(be.FromHost(x, 1, m, k), w, b, act)); }
            finally { Gemm.ForcedPath = saved; }
            var want = OpReference.Linear(new HostTensor(x, [1, m, k]), w, b, act, residual: null);
            GemmTests.AssertClose(want.Data, got, $"{path} linear {m}x{k} -> {n} {act}");
        }
    }
}
