namespace SamEngine.Backends.Cpu;

/// <summary>
/// The right-hand operand B [K, N] of <c>C = A · B</c> as <see cref="Gemm"/> reads it. The GEMM packs
/// B into column panels of its register tile's width on every call; fp16 sources are converted to
/// fp32 while packing, so fp16 weights stay fp16 in memory.
/// </summary>
public abstract class GemmRhs
{
    private protected GemmRhs(int n, int k)
    {
        if (n <= 0 || k <= 0) throw new ArgumentException($"GEMM operand of {n} columns and reduction {k}");
        N = n;
        K = k;
    }

    /// <summary>Output columns.</summary>
    public int N { get; }

    /// <summary>Reduction length.</summary>
    public int K { get; }

    /// <summary>
    /// Writes columns [j0, j0 + width) of B for all K rows as [K][width] into <paramref name="dst"/>,
    /// zero past N.
    /// </summary>
    internal abstract void PackPanel(int j0, int width, Span<float> dst);

    /// <summary>B = Wᵀ for an fp16 weight W [N, K] (the nn.Linear layout), read in place.</summary>
    public static GemmRhs TransposedHalf(ReadOnlyMemory<ushort> bits, int n, int k) => new TransposedHalfRhs(bits, n, k);

    /// <summary>B = Xᵀ for a float32 X [N, K] stored at <paramref name="offset"/>.</summary>
    public static GemmRhs Transposed(float[] data, int offset, int n, int k) => new TransposedFloatRhs(data, offset, n, k);

    /// <summary>B [K, N] row-major float32 at <paramref name="offset"/>.</summary>
    public static GemmRhs Plain(float[] data, int offset, int k, int n) => new PlainFloatRhs(data, offset, k, n);

    /// <summary>Scatters one source row (a column of B) into a panel column.</summary>
    private protected static void ScatterColumn(ReadOnlySpan<float> column, int col, int width, Span<float> dst)
    {
        for (int kk = 0; kk < column.Length; kk++) dst[kk * width + col] = column[kk];
    }

    private sealed class TransposedHalfRhs(ReadOnlyMemory<ushort> bits, int n, int k) : GemmRhs(n, k)
    {
        internal override void PackPanel(int j0, int width, Span<float> dst)
        {
            if (SimdTranspose.IsSupported && width % 8 == 0 && width <= MaxBlockedWidth) PackPanelBlocked(j0, width, dst);
            else PackPanelByColumns(j0, width, dst);
        }

        private const int MaxBlockedWidth = 32, KChunk = 64;

        /// <summary>
        /// The panel in chunks of 64 reduction steps: the chunk of each source row converted into a
        /// small scratch block (8 KB, in L1), which goes into the panel by 8 x 8 register transposes;
        /// the per-element scatter of <see cref="PackPanelByColumns"/> cost about as much as the fp16
        /// conversion itself many times over.
        /// </summary>
        private unsafe void PackPanelBlocked(int j0, int width, Span<float> dst)
        {
            int cols = Math.Min(width, N - j0);
            var w = bits.Span;
            float* block = stackalloc float[MaxBlockedWidth * KChunk];
            fixed (float* pd = dst)
                for (int k0 = 0; k0 < K; k0 += KChunk)
                {
                    int kc = Math.Min(KChunk, K - k0);
                    for (int col = 0; col < width; col++)
                    {
                        var row = new Span<float>(block + col * KChunk, kc);
                        if (col < cols) HalfConversion.ToSingle(w.Slice((j0 + col) * K + k0, kc), row);
                        else row.Clear();
                    }
                    int kk = 0;
                    for (; kk + 8 <= kc; kk += 8)
                        for (int c0 = 0; c0 < width; c0 += 8)
                            SimdTranspose.Block8(block + c0 * KChunk + kk, KChunk, pd + (long)(k0 + kk) * width + c0, width);
                    for (; kk < kc; kk++)
                        for (int col = 0; col < width; col++) pd[(long)(k0 + kk) * width + col] = block[col * KChunk + kk];
                }
        }

        /// <summary>Column by column, each converted a chunk at a time on the stack, then scattered into the panel.</summary>
        private void PackPanelByColumns(int j0, int width, Span<float> dst)
        {
            dst[..(K * width)].Clear();
            var w = bits.Span;
            Span<float> chunk = stackalloc float[KChunk];
            for (int col = 0; col < width && j0 + col < N; col++)
                for (int k0 = 0; k0 < K; k0 += KChunk)
                {
                    int kc = Math.Min(KChunk, K - k0);
                    HalfConversion.ToSingle(w.Slice((j0 + col) * K + k0, kc), chunk[..kc]);
                    ScatterColumn(chunk[..kc], col, width, dst[(k0 * width)..]);
                }
        }
    }

    private static unsafe void PackTransposedPanel(float[] data, int offset, int n, int k, int j0, int width, Span<float> dst)
    {
        dst[..(k * width)].Clear();
        int col = 0;
        if (SimdTranspose.IsSupported && offset + (long)n * k <= data.Length)
        {
            // Whole groups of 8 source rows by 8 x 8 register transposes, the rest element by element.
            fixed (float* ps = data, pd = dst)
                for (; col + 8 <= width && j0 + col + 8 <= n; col += 8)
                {
                    float* src = ps + offset + (long)(j0 + col) * k;
                    int kk = 0;
                    for (; kk + 8 <= k; kk += 8) SimdTranspose.Block8(src + kk, k, pd + (long)kk * width + col, width);
                    for (; kk < k; kk++)
                        for (int c = 0; c < 8; c++) pd[(long)kk * width + col + c] = src[(long)c * k + kk];
                }
        }
        for (; col < width && j0 + col < n; col++)
            ScatterColumn(data.AsSpan(offset + (j0 + col) * k, k), col, width, dst);
    }

    private static void PackPlainPanel(float[] data, int offset, int k, int n, int j0, int width, Span<float> dst)
    {
        int w = Math.Min(width, n - j0);
        for (int kk = 0; kk < k; kk++)
        {
            var d = dst.Slice(kk * width, width);
            data.AsSpan(offset + kk * n + j0, w).CopyTo(d);
            d[w..].Clear();
        }
    }

    private sealed class TransposedFloatRhs(float[] data, int offset, int n, int k) : GemmRhs(n, k)
    {
        internal override void PackPanel(int j0, int width, Span<float> dst) => PackTransposedPanel(data, offset, N, K, j0, width, dst);
    }

    private sealed class PlainFloatRhs(float[] data, int offset, int k, int n) : GemmRhs(n, k)
    {
        internal override void PackPanel(int j0, int width, Span<float> dst) => PackPlainPanel(data, offset, K, N, j0, width, dst);
    }
}
