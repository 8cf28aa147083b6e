using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The int8 GEMM's quantizers: per-row uint8 activations and per-channel int8 weights, and their packed layouts.</summary>
public class Int8QuantizationTests
{
    public static TheoryData<string> Rows => new() { "mixed", "positive", "negative", "constant", "tiny", "huge", "short" };

    private static float[] Row(string kind)
    {
        var rng = new Random(kind.Length * 13 + kind[0]);
        float[] r = Enumerable.Range(0, kind == "short" ? 5 : 301).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        return kind switch
        {
            "positive" => r.Select(v => Math.Abs(v) + 3).ToArray(),
            "negative" => r.Select(v => -Math.Abs(v) * 7).ToArray(),
            "constant" => r.Select(_ => 0.3f).ToArray(),
            "tiny" => r.Select(v => v * 1e-30f).ToArray(),
            "huge" => r.Select(v => v * 3e38f).ToArray(), // max − min overflows float
            _ => r,
        };
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Activation_round_trip_is_within_half_a_step(string kind)
    {
        var x = Row(kind);
        var (scale, zero) = Int8Activations.Range(x);
        Assert.True(float.IsFinite(scale) && scale > 0, $"scale {scale}");
        Assert.InRange(zero, 0, 255);
        var q = new byte[x.Length];
        Int8Activations.QuantizeRow(x, scale, zero, q);
        for (int i = 0; i < x.Length; i++)
        {
            double back = (double)scale * (q[i] - zero);
            Assert.True(Math.Abs(back - x[i]) <= scale * 0.5001, $"{kind} [{i}]: {x[i]} came back as {back} (scale {scale}, zero {zero}, q {q[i]})");
        }
        // The range covers the row and holds zero: both ends are used, zero is a whole step.
        Assert.Contains(q, v => v == 0 || v == 255);
    }

    [Fact]
    public void Zero_and_non_finite_rows_get_scale_zero_and_nan()
    {
        Assert.Equal((0f, 0), Int8Activations.Range(new float[37]));
        Assert.Equal((0f, 0), Int8Activations.Range([1e-44f, -1e-44f, 0])); // denormals: no usable step
        Assert.True(float.IsNaN(Int8Activations.Range([1, 2, float.NaN, 3, 4, 5, 6, 7, 8, 9]).Scale));
        Assert.True(float.IsNaN(Int8Activations.Range([1, float.PositiveInfinity]).Scale));
        var q = new byte[3];
        q.AsSpan().Fill(9);
        Int8Activations.QuantizeRow([5f, -2f, 1f], 0, 0, q);
        Assert.Equal(new byte[3], q);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 5)]    // a partial row panel, K not a multiple of 4
    [InlineData(13, 12)]
    public void Rows_are_packed_in_groups_of_four_per_panel_row(int rows, int k)
    {
        const int mr = Int8Kernels.Mr;
        var rng = new Random(rows * 100 + k);
        var x = Enumerable.Range(0, 3 + rows * (k + 2)).Select(_ => (float)rng.NextDouble() - 0.4f).ToArray();
        int groups = (k + 3) / 4, panels = (rows + mr - 1) / mr;
        var packed = Enumerable.Repeat((byte)77, panels * groups * mr * 4).ToArray(); // garbage to overwrite
        var scales = new float[panels * mr];
        var zeros = Enumerable.Repeat(5, panels * mr).ToArray();
        Int8Activations.QuantizeRows(x, 3, k + 2, rows, k, packed, scales, zeros, new byte[groups * 4]);
        var q = new byte[k];
        for (int r = 0; r < panels * mr; r++)
        {
            if (r < rows)
            {
                var row = x.AsSpan(3 + r * (k + 2), k);
                var (scale, zero) = Int8Activations.Range(row);
                Assert.Equal((scale, zero), (scales[r], zeros[r]));
                Int8Activations.QuantizeRow(row, scale, zero, q);
            }
            else
            {
                Assert.Equal((0f, 0), (scales[r], zeros[r]));
                Array.Clear(q);
            }
            for (int kk = 0; kk < groups * 4; kk++)
            {
                byte want = kk < k ? q[kk] : (byte)0;
                Assert.Equal(want, packed[((r / mr * groups + kk / 4) * mr + r % mr) * 4 + kk % 4]);
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(17, 5)]   // a second, partial panel; K not a multiple of 4
    [InlineData(40, 64)]
    public void Weight_round_trip_is_within_half_a_step_per_channel(int n, int k)
    {
        var rng = new Random(n + k);
        var w = Enumerable.Range(0, n * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        for (int kk = 0; kk < k; kk++) w[kk] *= 1e6f; // channels are scaled independently
        if (n > 1) Array.Clear(w, k, k);              // an all-zero channel
        var q = Int8Weight.Quantize(w, n, k);
        for (int j = 0; j < n; j++)
        {
            float scale = q.Scales[j];
            int sum = 0;
            for (int kk = 0; kk < k; kk++)
            {
                int v = q.Value(j, kk);
                Assert.InRange(v, -127, 127);
                sum += v;
                Assert.True(Math.Abs((double)scale * v - w[j * k + kk]) <= scale * 0.5001, $"[{j}, {kk}]: {w[j * k + kk]} vs {scale} x {v}");
            }
            Assert.Equal(sum, q.ColumnSums[j]);
            if (j == 1) Assert.Equal(0f, scale);
            else Assert.Contains(Enumerable.Range(0, k), kk => Math.Abs(q.Value(j, kk)) == 127);
        }
        // Padding (columns past N, steps past K) is zero, so it adds nothing to a dot product.
        int panels = (n + 15) / 16, groups = (k + 3) / 4;
        Assert.Equal(panels * groups * 64, q.Packed.Length);
        for (int j = n; j < panels * 16; j++)
        {
            Assert.Equal(0f, q.Scales[j]);
            for (int kk = 0; kk < groups * 4; kk++) Assert.Equal(0, q.Value(j, kk));
        }
        for (int j = 0; j < n; j++)
            for (int kk = k; kk < groups * 4; kk++) Assert.Equal(0, q.Value(j, kk));
    }
}
