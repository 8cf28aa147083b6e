using System.Numerics;
using System.Runtime.InteropServices;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// Per-row (per-token) asymmetric uint8 quantization of a GEMM's left operand, done on the fly:
/// x ≈ scale · (q − zero) with q in [0, 255]. The range always holds 0, so zero is exact (padding and
/// all-zero rows stay zero) and the zero point is an integer in [0, 255]. Rows are written into panels
/// of <see cref="Int8Kernels.Mr"/> rows as VPDPBUSD's broadcast operand wants them: for every group of
/// four reduction steps, each row's four consecutive uint8 values (panel row r, group g, step s at
/// (g · Mr + r) · 4 + s), zero past K and for rows past the block.
/// </summary>
internal static class Int8Activations
{
    /// <summary>Largest quantized value.</summary>
    public const int QMax = 255;

    /// <summary>The smallest normal float: a smaller scale's reciprocal would overflow.</summary>
    private const float MinNormal = 1.17549435e-38f;

    /// <summary>
    /// The scale and zero point of one row. A row that is all zero (or too small for a normal float
    /// scale) gets scale 0: every output of it is then exactly 0. A row holding NaN or infinity gets a
    /// NaN scale, so its outputs are NaN as the fp32 product's would be.
    /// </summary>
    public static (float Scale, int Zero) Range(ReadOnlySpan<float> row)
    {
        float lo = 0, hi = 0, poison = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated && row.Length >= Vector<float>.Count)
        {
            var vlo = Vector<float>.Zero;
            var vhi = Vector<float>.Zero;
            var vpoison = Vector<float>.Zero;
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(row);
            foreach (var v in vectors)
            {
                vlo = Vector.Min(vlo, v);
                vhi = Vector.Max(vhi, v);
                vpoison += v * Vector<float>.Zero; // NaN once any value is NaN or infinite
            }
            for (int l = 0; l < Vector<float>.Count; l++)
            {
                lo = Math.Min(lo, vlo[l]);
                hi = Math.Max(hi, vhi[l]);
                poison += vpoison[l];
            }
            i = vectors.Length * Vector<float>.Count;
        }
        for (; i < row.Length; i++)
        {
            lo = Math.Min(lo, row[i]);
            hi = Math.Max(hi, row[i]);
            poison += row[i] * 0f;
        }
        if (!float.IsFinite(poison) || !float.IsFinite(lo) || !float.IsFinite(hi)) return (float.NaN, 0);
        // hi/255 − lo/255 rather than (hi − lo)/255: the difference of two huge values may overflow.
        float scale = hi / QMax - lo / QMax;
        if (!(scale >= MinNormal)) return (0, 0);
        int zero = (int)Math.Clamp(MathF.Round(-lo / scale), 0, QMax);
        return (scale, zero);
    }

    /// <summary>
    /// Quantizes <paramref name="rows"/> rows of x (row stride <paramref name="lda"/>, K values each,
    /// from <paramref name="offset"/>) into <paramref name="packed"/> (panels of <see cref="Int8Kernels.Mr"/>
    /// rows, <c>groups · Mr · 4</c> bytes each) and their scales and zero points into
    /// <paramref name="scales"/> and <paramref name="zeros"/> (zero for the panel rows past
    /// <paramref name="rows"/>). <paramref name="rowBuffer"/> holds at least groups · 4 bytes.
    /// </summary>
    public static void QuantizeRows(float[] x, int offset, int lda, int rows, int k, byte[] packed, float[] scales, int[] zeros, byte[] rowBuffer)
    {
        int groups = (k + 3) / 4, mr = Int8Kernels.Mr, panels = (rows + mr - 1) / mr;
        var ints = MemoryMarshal.Cast<byte, int>(packed.AsSpan(0, panels * groups * mr * 4));
        var rowInts = MemoryMarshal.Cast<byte, int>(rowBuffer.AsSpan(0, groups * 4));
        for (int r = 0; r < panels * mr; r++)
        {
            int panel = r / mr, pr = r % mr;
            var dst = ints.Slice(panel * groups * mr);
            if (r >= rows)
            {
                scales[r] = 0;
                zeros[r] = 0;
                for (int g = 0; g < groups; g++) dst[g * mr + pr] = 0;
                continue;
            }
            var row = x.AsSpan(offset + r * lda, k);
            var (scale, zero) = Range(row);
            scales[r] = scale;
            zeros[r] = zero;
            QuantizeRow(row, scale, zero, rowBuffer);
            rowBuffer.AsSpan(k, groups * 4 - k).Clear();
            // Scatter the row's groups of four into its panel row: one int per group.
            for (int g = 0; g < groups; g++) dst[g * mr + pr] = rowInts[g];
        }
    }

    /// <summary>q = clamp(round(x / scale) + zero, 0, 255) into <paramref name="q"/> (all zero for a scale that is 0 or NaN).</summary>
    public static void QuantizeRow(ReadOnlySpan<float> x, float scale, int zero, Span<byte> q)
    {
        if (!(scale > 0))
        {
            q[..x.Length].Clear();
            return;
        }
        float inv = 1f / scale;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            // Four float vectors narrow to one byte vector (the values are in [0, 255], so narrowing,
            // which keeps the low bits, is exact).
            int w = Vector<float>.Count, chunk = 4 * w;
            var vinv = new Vector<float>(inv);
            var vzero = new Vector<float>(zero);
            var dst = MemoryMarshal.Cast<byte, Vector<byte>>(q);
            for (int v = 0; i + chunk <= x.Length; i += chunk, v++)
            {
                var lo = Vector.Narrow(Quantize(x, i, vinv, vzero), Quantize(x, i + w, vinv, vzero));
                var hi = Vector.Narrow(Quantize(x, i + 2 * w, vinv, vzero), Quantize(x, i + 3 * w, vinv, vzero));
                dst[v] = Vector.Narrow(lo, hi);
            }
        }
        for (; i < x.Length; i++) q[i] = (byte)Math.Clamp(MathF.Round(x[i] * inv) + zero, 0, QMax);
    }

    /// <summary>The vector form of the scalar tail's formula, as unsigned lanes.</summary>
    private static Vector<uint> Quantize(ReadOnlySpan<float> x, int at, Vector<float> inv, Vector<float> zero)
    {
        var v = new Vector<float>(x.Slice(at, Vector<float>.Count));
        var f = Vector.Min(Vector.Max(Vector.Round(v * inv) + zero, Vector<float>.Zero), new Vector<float>(QMax));
        return Vector.AsVectorUInt32(Vector.ConvertToInt32(f));
    }
}
