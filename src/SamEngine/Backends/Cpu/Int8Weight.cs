namespace SamEngine.Backends.Cpu;

/// <summary>
/// An nn.Linear weight W [N, K] quantized for <see cref="Int8Gemm"/>: each output channel (row of W)
/// symmetric int8 with its own scale, w ≈ scale[j] · q[j, k], q in [-127, 127]. Packed once, in
/// panels of <see cref="Int8Kernels.Nr"/> columns laid out as VPDPBUSD reads them: for every group of
/// four reduction steps, the panel's columns each hold their four consecutive int8 values
/// (panel p, group g, column c, step s at ((p · groups + g) · Nr + c) · 4 + s). Reduction steps past K
/// and columns past N are zero, so they add nothing.
/// </summary>
internal sealed class Int8Weight
{
    /// <summary>Largest magnitude of a quantized value (symmetric, so -128 is never used).</summary>
    public const int QMax = 127;

    private Int8Weight(int n, int k)
    {
        N = n;
        K = k;
        Panels = (n + Int8Kernels.Nr - 1) / Int8Kernels.Nr;
        Groups = (k + 3) / 4;
        Packed = new sbyte[(long)Panels * Groups * Int8Kernels.Nr * 4];
        Scales = new float[Panels * Int8Kernels.Nr];
        ColumnSums = new int[Panels * Int8Kernels.Nr];
    }

    /// <summary>Output columns.</summary>
    public int N { get; }

    /// <summary>Reduction length.</summary>
    public int K { get; }

    /// <summary>Column panels of <see cref="Int8Kernels.Nr"/>.</summary>
    public int Panels { get; }

    /// <summary>Groups of four reduction steps (K rounded up).</summary>
    public int Groups { get; }

    /// <summary>The packed values (see the class summary).</summary>
    public sbyte[] Packed { get; }

    /// <summary>Per-column scale, zero past N.</summary>
    public float[] Scales { get; }

    /// <summary>Per-column Σₖ q[j, k]: corrects the activations' zero point (Σ (a − z) q = Σ a q − z Σ q).</summary>
    public int[] ColumnSums { get; }

    /// <summary>Bytes of one panel (all groups).</summary>
    public int PanelBytes => Groups * Int8Kernels.Nr * 4;

    /// <summary>Quantizes W [N, K] (row-major, the nn.Linear layout).</summary>
    public static Int8Weight Quantize(ReadOnlySpan<float> w, int n, int k)
    {
        if (n <= 0 || k <= 0 || w.Length != (long)n * k) throw new ArgumentException($"int8 weight [{n}, {k}] from {w.Length} values");
        var q = new Int8Weight(n, k);
        for (int j = 0; j < n; j++)
        {
            var row = w.Slice(j * k, k);
            float amax = 0;
            foreach (float v in row) amax = Math.Max(amax, Math.Abs(v));
            // A zero row keeps scale 0 and q 0; so would a non-finite one, whose NaN scale then poisons
            // the column as the fp32 product would.
            float scale = float.IsFinite(amax) ? amax / QMax : float.NaN;
            float inv = scale > 0 ? 1f / scale : 0f;
            q.Scales[j] = scale;
            int panel = j / Int8Kernels.Nr, col = j % Int8Kernels.Nr, sum = 0;
            long baseIndex = (long)panel * q.PanelBytes + col * 4;
            for (int kk = 0; kk < k; kk++)
            {
                int v = (int)Math.Clamp(MathF.Round(row[kk] * inv), -QMax, QMax);
                q.Packed[baseIndex + (kk >> 2) * Int8Kernels.Nr * 4 + (kk & 3)] = (sbyte)v;
                sum += v;
            }
            q.ColumnSums[j] = sum;
        }
        return q;
    }

    /// <summary>The quantized value of W[j, k] (for tests and references).</summary>
    public int Value(int j, int k) =>
        Packed[(long)(j / Int8Kernels.Nr) * PanelBytes + (k >> 2) * Int8Kernels.Nr * 4 + j % Int8Kernels.Nr * 4 + (k & 3)];
}
