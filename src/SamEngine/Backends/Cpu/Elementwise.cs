using System.Numerics;

namespace SamEngine.Backends.Cpu;

/// <summary>Element-wise and row-wise ops of the CPU backend: activations, adds, LayerNorm, softmax.</summary>
public static class Elementwise
{
    /// <summary>Applies <paramref name="act"/> in place.</summary>
    public static void Activate(Span<float> x, Activation act)
    {
        switch (act)
        {
            case Activation.None: return;
            case Activation.Relu:
                for (int i = 0; i < x.Length; i++) x[i] = Math.Max(x[i], 0f);
                return;
            case Activation.Gelu:
                for (int i = 0; i < x.Length; i++) x[i] = MathUtil.Gelu(x[i]);
                return;
            default: throw new ArgumentOutOfRangeException(nameof(act));
        }
    }

    /// <summary>y = a + b with b repeated over a's leading elements (a.Length a multiple of b.Length).</summary>
    public static void AddBroadcast(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int vw = Vector<float>.Count;
        for (int o = 0; o < a.Length; o += b.Length)
        {
            var ar = a.Slice(o, b.Length);
            var yr = y.Slice(o, b.Length);
            int i = 0;
            for (; i <= b.Length - vw; i += vw) (new Vector<float>(ar[i..]) + new Vector<float>(b[i..])).CopyTo(yr[i..]);
            for (; i < b.Length; i++) yr[i] = ar[i] + b[i];
        }
    }

    /// <summary>y += b, element by element.</summary>
    public static void AddInPlace(Span<float> y, ReadOnlySpan<float> b)
    {
        int vw = Vector<float>.Count, i = 0;
        for (; i <= y.Length - vw; i += vw) (new Vector<float>(y[i..]) + new Vector<float>(b[i..])).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] += b[i];
    }

    /// <summary>LayerNorm of <paramref name="rows"/> rows of <paramref name="c"/> channels (biased variance).</summary>
    public static void LayerNorm(float[] x, float[] y, int rows, int c, float[] gamma, float[] beta, float eps)
    {
        void Row(int r)
        {
            var xr = x.AsSpan(r * c, c);
            var yr = y.AsSpan(r * c, c);
            double sum = 0;
            foreach (float v in xr) sum += v;
            float mean = (float)(sum / c);
            double sq = 0;
            foreach (float v in xr) { double d = v - mean; sq += d * d; }
            float rstd = (float)(1.0 / Math.Sqrt(sq / c + eps));
            for (int i = 0; i < c; i++) yr[i] = (xr[i] - mean) * rstd * gamma[i] + beta[i];
        }
        if (rows * c < 1 << 14) for (int r = 0; r < rows; r++) Row(r);
        else Parallel.For(0, rows, Row);
    }

    /// <summary>Softmax of one row in place (max-subtracted, sum in fp32 then normalised).</summary>
    public static void SoftmaxRow(Span<float> row)
    {
        float max = float.NegativeInfinity;
        foreach (float v in row) max = Math.Max(max, v);
        float sum = 0;
        for (int i = 0; i < row.Length; i++) { float e = MathF.Exp(row[i] - max); row[i] = e; sum += e; }
        float inv = 1f / sum;
        for (int i = 0; i < row.Length; i++) row[i] *= inv;
    }
}
