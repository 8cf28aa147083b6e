using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The packed GEMM against a plain scalar product, on every SIMD path this CPU runs.</summary>
public class GemmTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 1, 37, 5 }, { 7, 1, 9 }, { 13, 33, 17 }, { 12, 32, 256 }, { 25, 47, 300 },
        { 150, 70, 513 }, { 300, 96, 64 }, { 2, 3000, 3 }, { 40, 2400, 300 }, { 150, 250, 513 }, { 30, 100, 1024 },
    };

    public static IEnumerable<object[]> Paths() =>
        Enum.GetValues<SimdPath>().Where(GemmKernels.IsSupported).Select(p => new object[] { p });

    [Theory]
    [InlineData(37, 5, 32)]    // fewer rows than a transpose block, columns past N
    [InlineData(70, 131, 32)]  // reduction tails of the 64-step chunks and the 8 x 8 blocks
    [InlineData(33, 256, 16)]  // the Vector256 panel width
    [InlineData(9, 72, 8)]
    [InlineData(40, 40, 12)]   // a width the blocked path does not take
    public void TransposedPanelsHoldTheSourceExactly(int n, int k, int width)
    {
        var rng = new Random(n * 31 + k);
        var bits = Random(rng, n * k).Select(Fp16.FromFloat).ToArray();
        var values = bits.Select(Fp16.ToFloat).ToArray();
        AssertPanels(GemmRhs.TransposedHalf(bits, n, k), (row, kk) => values[row * k + kk], n, k, width);
        // The float32 form at an offset: the same panels.
        AssertPanels(GemmRhs.Transposed([1f, 2f, 3f, .. values], 3, n, k), (row, kk) => values[row * k + kk], n, k, width);
    }

    private static void AssertPanels(GemmRhs rhs, Func<int, int, float> source, int n, int k, int width)
    {
        for (int j0 = 0; j0 < n; j0 += width)
        {
            var panel = Enumerable.Repeat(float.NaN, k * width).ToArray();
            rhs.PackPanel(j0, width, panel);
            for (int kk = 0; kk < k; kk++)
                for (int col = 0; col < width; col++)
                {
                    float want = j0 + col < n ? source(j0 + col, kk) : 0f;
                    Assert.True(want.Equals(panel[kk * width + col]), $"panel at {j0}: [{kk}, {col}] = {panel[kk * width + col]}, expected {want}");
                }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    internal void HalfWeightsMatchScalarReference(SimdPath path)
    {
        foreach (var (m, n, k) in Shapes.Select(r => ((int)r[0], (int)r[1], (int)r[2])))
        {
            var rng = new Random(m * 1000 + n * 10 + k);
            var a = Random(rng, m * k);
            var wBits = Random(rng, n * k).Select(Fp16.FromFloat).ToArray();
            var w = wBits.Select(Fp16.ToFloat).ToArray();
            var bias = Random(rng, n);
            foreach (var act in new[] { Activation.None, Activation.Gelu, Activation.Relu })
            {
                var expected = Reference(m, n, k, a, (i, j) => w[j * k + i], bias, act);
                var got = Run(path, m, a, GemmRhs.TransposedHalf(wBits, n, k), bias, act);
                AssertClose(expected, got, $"{path} fp16 [{m}x{k}]x[{k}x{n}] {act}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    internal void ResidualIsAddedAfterTheActivationInTheEpilogue(SimdPath path)
    {
        foreach (var (m, n, k) in Shapes.Select(r => ((int)r[0], (int)r[1], (int)r[2])))
        {
            var rng = new Random(m * 7 + n * 3 + k);
            var a = Random(rng, m * k);
            var w = Random(rng, n * k); // [N, K]
            var residual = Random(rng, m * n);
            foreach (var bias in new[] { Random(rng, n), null })
                foreach (var act in new[] { Activation.None, Activation.Gelu, Activation.Relu })
                {
                    var expected = Reference(m, n, k, a, (i, j) => w[j * k + i], bias, act).Select((v, i) => v + residual[i]).ToArray();
                    var c = Run(path, m, a, GemmRhs.Transposed(w, 0, n, k), bias, act, residual);
                    AssertClose(expected, c, $"{path} [{m}x{k}]x[{k}x{n}] {act}{(bias is null ? "" : " + bias")} + residual");
                }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    internal void FloatOperandsMatchScalarReference(SimdPath path)
    {
        foreach (var (m, n, k) in Shapes.Select(r => ((int)r[0], (int)r[1], (int)r[2])))
        {
            var rng = new Random(m + n + k);
            var a = Random(rng, m * k);
            var bt = Random(rng, 3 + n * k); // [N, K] at offset 3
            var expectedT = Reference(m, n, k, a, (i, j) => bt[3 + j * k + i], null, Activation.None);
            AssertClose(expectedT, Run(path, m, a, GemmRhs.Transposed(bt, 3, n, k), null, Activation.None), $"{path} transposed {m},{n},{k}");
            var b = Random(rng, k * n); // [K, N]
            var expected = Reference(m, n, k, a, (i, j) => b[i * n + j], null, Activation.None);
            AssertClose(expected, Run(path, m, a, GemmRhs.Plain(b, 0, k, n), null, Activation.None), $"{path} plain {m},{n},{k}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    internal void TransposedLeftOperandMatchesScalarReference(SimdPath path)
    {
        foreach (var (m, n, k) in Shapes.Select(r => ((int)r[0], (int)r[1], (int)r[2])))
        {
            var rng = new Random(m * 3 + n + k);
            var at = Random(rng, 5 + k * m); // Aᵀ [K, M] at offset 5
            var b = Random(rng, k * n);
            var bias = Random(rng, n);
            var expected = Reference(m, n, k, Enumerable.Range(0, m * k).Select(x => at[5 + (x % k) * m + x / k]).ToArray(), (i, j) => b[i * n + j], bias, Activation.Relu);
            var c = new float[m * n];
            var saved = Gemm.ForcedPath;
            Gemm.ForcedPath = path;
            try { Gemm.Multiply(m, at, 5, GemmRhs.Plain(b, 0, k, n), c, 0, bias, Activation.Relu, transposedA: true); }
            finally { Gemm.ForcedPath = saved; }
            AssertClose(expected, c, $"{path} Aᵀ {m},{n},{k}");
        }
    }

    [Fact]
    public void LargeParallelProductMatchesReference()
    {
        int m = 333, n = 200, k = 700;
        var rng = new Random(5);
        var a = Random(rng, m * k);
        var b = Random(rng, n * k);
        var expected = Reference(m, n, k, a, (i, j) => b[j * k + i], null, Activation.None);
        var c = new float[m * n];
        Gemm.Multiply(m, a, 0, GemmRhs.Transposed(b, 0, n, k), c, 0, parallel: true);
        AssertClose(expected, c, "parallel");
    }

    [Fact]
    public void HalfConversionIsExactForEveryBitPattern()
    {
        var bits = Enumerable.Range(0, 65536).Select(i => (ushort)i).ToArray();
        var got = new float[bits.Length];
        HalfConversion.ToSingle(bits, got);
        for (int i = 0; i < bits.Length; i++)
        {
            float want = (float)BitConverter.UInt16BitsToHalf(bits[i]);
            if (float.IsNaN(want)) Assert.True(float.IsNaN(got[i]), $"bits {i:X4}");
            else Assert.Equal(BitConverter.SingleToInt32Bits(want), BitConverter.SingleToInt32Bits(got[i]));
        }
    }

    private static float[] Run(SimdPath path, int m, float[] a, GemmRhs b, float[]? bias, Activation act, float[]? residual = null)
    {
        var c = new float[m * b.N + 2];
        c[^1] = c[^2] = 42; // sentinels past the end must survive
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try { Gemm.Multiply(m, a, 0, b, c, 0, bias, act, parallel: true, residual: residual); }
        finally { Gemm.ForcedPath = saved; }
        Assert.Equal(42f, c[^1]);
        Assert.Equal(42f, c[^2]);
        return c[..(m * b.N)];
    }

    private static float[] Reference(int m, int n, int k, float[] a, Func<int, int, float> b, float[]? bias, Activation act)
    {
        var c = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = bias?[j] ?? 0;
                for (int kk = 0; kk < k; kk++) s += (double)a[i * k + kk] * b(kk, j);
                float v = (float)s;
                c[i * n + j] = act switch { Activation.Gelu => MathUtil.Gelu(v), Activation.Relu => Math.Max(v, 0), _ => v };
            }
        return c;
    }

    internal static float[] Random(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    /// <summary>|got - want| &lt;= atol + rtol |want| per element (fp32 sums of up to ~700 terms).</summary>
    internal static void AssertClose(float[] want, float[] got, string what, float atol = 1e-4f, float rtol = 1e-4f)
    {
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            if (!(Math.Abs(got[i] - want[i]) <= atol + rtol * Math.Abs(want[i])))
                Assert.Fail($"{what}: element {i} is {got[i]}, expected {want[i]}");
    }
}
