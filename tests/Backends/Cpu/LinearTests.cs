using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The CPU backend's Linear on both of its paths (few rows: dot products; many: the packed GEMM).</summary>
public class LinearTests
{
    [Theory]
    [InlineData(1, 5, 3)]      // a single token
    [InlineData(7, 256, 256)]  // the decoder's tokens
    [InlineData(15, 600, 2048)] // the last row count of the small path, enough work to split columns
    [InlineData(16, 33, 17)]   // the first of the GEMM path
    public void MatchesScalarReference(int m, int n, int k)
    {
        var rng = new Random(m * 7 + n);
        var x = GemmTests.Random(rng, m * k);
        var w = new Parameter("lin.weight", [n, k], GemmTests.Random(rng, n * k).Select(Fp16.FromFloat).ToArray());
        var b = new Parameter("lin.bias", [n], GemmTests.Random(rng, n).Select(Fp16.FromFloat).ToArray());
        var wf = w.ToFloat();
        var bf = b.ToFloat();
        using var be = new CpuBackend();
        foreach (var act in new[] { Activation.None, Activation.Relu, Activation.Gelu })
        {
            var got = be.ToHost(be.Linear(be.FromHost(x, 1, m, k), w, b, act));
            var want = new float[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = bf[j];
                    for (int kk = 0; kk < k; kk++) s += (double)x[i * k + kk] * wf[j * k + kk];
                    float v = (float)s;
                    want[i * n + j] = act switch { Activation.Relu => Math.Max(v, 0), Activation.Gelu => MathUtil.Gelu(v), _ => v };
                }
            GemmTests.AssertClose(want, got, $"linear {m}x{k} -> {n} {act}");
        }
    }
}
