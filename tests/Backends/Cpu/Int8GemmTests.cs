using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Parity;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>
/// The int8 GEMM on every path this CPU runs, against a plain scalar reference over the same quantized
/// operands (bit for bit up to the epilogue's fp32 rounding), and that reference against the fp32
/// product within the error quantization allows.
/// </summary>
public class Int8GemmTests
{
    public static IEnumerable<object[]> Paths() =>
        Enum.GetValues<Int8Path>().Where(Int8Kernels.IsSupported).Select(p => new object[] { p });

    /// <summary>Odd M, N and K (K not a multiple of 4, partial tiles), and products large enough to run in parallel.</summary>
    public static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 37, 5), (7, 1, 9), (13, 33, 3), (6, 16, 4), (25, 47, 301), (97, 100, 771), (300, 48, 64),
    ];

    [Theory]
    [MemberData(nameof(Paths))]
    internal void Matches_scalar_reference_on_odd_shapes(Int8Path path)
    {
        foreach (var (m, n, k) in Shapes)
        {
            var rng = new Random(m * 1000 + n * 10 + k);
            var a = GemmTests.Random(rng, m * k);
            if (m > 2) Array.Clear(a, k, k); // an all-zero row: its outputs are the bias
            var w = Int8Weight.Quantize(GemmTests.Random(rng, n * k), n, k);
            var bias = GemmTests.Random(rng, n);
            var residual = GemmTests.Random(rng, m * n);
            foreach (var act in new[] { Activation.None, Activation.Gelu, Activation.Relu })
            {
                var got = Run(path, m, a, w, bias, act, act == Activation.Relu ? residual : null);
                var want = Reference(m, a, w, bias, act, act == Activation.Relu ? residual : null);
                AssertSame(want, got, $"{path} [{m}x{k}]x[{k}x{n}] {act}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    internal void Huge_and_small_magnitudes_keep_their_relative_accuracy(Int8Path path)
    {
        // Products stay in fp32's normal range, as do the step products sa · sw the outputs are scaled by.
        int m = 9, n = 19, k = 45;
        var rng = new Random(3);
        var a = GemmTests.Random(rng, m * k);
        for (int i = 0; i < k; i++) { a[i] *= 1e20f; a[k + i] *= 1e-12f; a[2 * k + i] *= 1e36f; } // rows 0, 1, 2
        var wf = GemmTests.Random(rng, n * k);
        for (int i = 0; i < k; i++) { wf[i] *= 1e-12f; wf[k + i] *= 1e-5f; } // columns 0, 1
        var w = Int8Weight.Quantize(wf, n, k);
        var got = Run(path, m, a, w, null, Activation.None, null);
        AssertSame(Reference(m, a, w, null, Activation.None, null), got, $"{path} magnitudes");
        AssertWithinQuantizationError(m, n, k, a, wf, got, "magnitudes");
    }

    [Fact]
    public void Reference_is_within_the_quantization_error_of_the_fp32_product()
    {
        foreach (var (m, n, k) in Shapes)
        {
            var rng = new Random(m + n + k);
            var a = GemmTests.Random(rng, m * k);
            var wf = GemmTests.Random(rng, n * k);
            var got = Reference(m, a, Int8Weight.Quantize(wf, n, k), null, Activation.None, null);
            AssertWithinQuantizationError(m, n, k, a, wf, got, $"[{m}x{k}]x[{k}x{n}]");
        }
    }

    [Fact]
    public void Non_finite_input_rows_give_non_finite_outputs()
    {
        int m = 8, n = 20, k = 12;
        var a = GemmTests.Random(new Random(1), m * k);
        a[3 * k + 5] = float.NaN;
        var w = Int8Weight.Quantize(GemmTests.Random(new Random(2), n * k), n, k);
        var c = new float[m * n];
        Int8Gemm.Multiply(m, a, w, c);
        for (int i = 0; i < m * n; i++)
            Assert.True(float.IsFinite(c[i]) == (i / n != 3), $"[{i / n}, {i % n}] = {c[i]}");
    }

    [Fact]
    public void Cpu_backend_runs_only_vit_encoder_block_linears_in_int8()
    {
        int m = 70, n = 24, k = 30; // past the small-row path
        var rng = new Random(11);
        var x = GemmTests.Random(rng, m * k);
        var bits = GemmTests.Random(rng, n * k).Select(Fp16.FromFloat).ToArray();
        var encoder = new Parameter("image_encoder.blocks.0.mlp.lin1.weight", [n, k], bits);
        var decoder = new Parameter("mask_decoder.transformer.layers.0.mlp.lin1.weight", [n, k], bits);
        var hiera = new Parameter("image_encoder.trunk.blocks.0.mlp.layers.0.weight", [n, k], bits);
        using var fp32 = new CpuBackend();
        using var int8 = new CpuBackend(Precision.Int8);
        float[] Linear(IBackend be, Parameter w)
        {
            using var t = be.FromHost(x, 1, m, k);
            using var y = be.Linear(t, w, null);
            return be.ToHost(y);
        }
        var want = Linear(fp32, encoder);
        Assert.Equal(want, Linear(int8, decoder));
        Assert.Equal(want, Linear(int8, hiera));
        var got = Linear(int8, encoder);
        Assert.NotEqual(want, got);
        AssertSame(Reference(m, x, Int8Weight.Quantize(encoder.ToFloat(), n, k), null, Activation.None, null), got, "backend");
        Assert.Contains("int8 encoder linears", int8.Device);
        Assert.Throws<NotSupportedException>(() => new CpuBackend(Precision.Fp16));
    }

    private static float[] Run(Int8Path path, int m, float[] a, Int8Weight w, float[]? bias, Activation act, float[]? residual)
    {
        var c = new float[m * w.N + 2];
        c[^1] = c[^2] = 42; // sentinels past the end must survive
        var saved = Int8Gemm.ForcedPath;
        Int8Gemm.ForcedPath = path;
        try { Int8Gemm.Multiply(m, a, w, c, bias, act, residual); }
        finally { Int8Gemm.ForcedPath = saved; }
        Assert.Equal(42, c[^1]);
        Assert.Equal(42, c[^2]);
        return c[..(m * w.N)];
    }

    /// <summary>
    /// The int8 product written plainly: each row quantized by <see cref="Int8Activations"/>, an int
    /// dot product with the unpacked weight values, then dequantization, bias, activation, residual.
    /// </summary>
    private static float[] Reference(int m, float[] a, Int8Weight w, float[]? bias, Activation act, float[]? residual)
    {
        int n = w.N, k = w.K;
        var c = new float[m * n];
        var q = new byte[k];
        for (int i = 0; i < m; i++)
        {
            var row = a.AsSpan(i * k, k);
            var (scale, zero) = Int8Activations.Range(row);
            Int8Activations.QuantizeRow(row, scale, zero, q);
            for (int j = 0; j < n; j++)
            {
                int dot = 0, colSum = 0;
                for (int kk = 0; kk < k; kk++)
                {
                    dot += q[kk] * w.Value(j, kk);
                    colSum += w.Value(j, kk);
                }
                float v = Int8Kernels.Dequantize(dot, zero, colSum, scale, w.Scales[j]) + (bias?[j] ?? 0f);
                v = act switch { Activation.Gelu => MathUtil.Gelu(v), Activation.Relu => Math.Max(v, 0f), _ => v };
                c[i * n + j] = v + (residual?[i * n + j] ?? 0f);
            }
        }
        return c;
    }

    /// <summary>Equal up to the last bits the epilogue's vector GELU may round differently.</summary>
    private static void AssertSame(float[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 1e-6 * Math.Max(1, Math.Abs(want[i])) || want[i].Equals(got[i]),
                $"{what}: [{i}] got {got[i]:G9}, reference {want[i]:G9}");
    }

    /// <summary>
    /// |int8 − fp32| per output is at most what the two quantizations allow: each a within half its
    /// row's step sa, each w within half its channel's step sw, so the error of Σ a·w is at most
    /// Σ (|a| sw + |w| sa + sa sw / 2) / 2, plus fp32 rounding.
    /// </summary>
    private static void AssertWithinQuantizationError(int m, int n, int k, float[] a, float[] wf, float[] got, string what)
    {
        var w = Int8Weight.Quantize(wf, n, k);
        for (int i = 0; i < m; i++)
        {
            double sa = Int8Activations.Range(a.AsSpan(i * k, k)).Scale;
            for (int j = 0; j < n; j++)
            {
                double exact = 0, bound = 0, magnitude = 0, sw = w.Scales[j];
                for (int kk = 0; kk < k; kk++)
                {
                    double x = a[i * k + kk], y = wf[j * k + kk];
                    exact += x * y;
                    magnitude += Math.Abs(x * y);
                    bound += (Math.Abs(x) * sw + Math.Abs(y) * sa + sa * sw / 2) / 2;
                }
                bound += 1e-6 * (magnitude + sa * sw * 255 * 127 * k);
                Assert.True(Math.Abs(got[i * n + j] - exact) <= bound, $"{what}: [{i}, {j}] int8 {got[i * n + j]:G6}, fp32 {exact:G6}, bound {bound:G3}");
                // And the bound is a real constraint: far below the product's own size.
                if (magnitude > 0 && k > 16) Assert.True(bound < 0.1 * magnitude, $"{what}: bound {bound:G3} vs magnitude {magnitude:G3}");
            }
        }
    }
}
