namespace SamEngine.Backends.Cpu;

/// <summary>
/// C[M, N] = act(A[M, K] · Wᵀ + bias) + residual with W an <see cref="Int8Weight"/> (quantized and
/// packed once) and A float32 quantized per row on the fly (<see cref="Int8Activations"/>): the
/// low-precision form of <see cref="Gemm"/> for nn.Linear layers. Each worker takes a block of rows,
/// quantizes it into uint8 panels (L2-resident) and sweeps the weight's column panels with the int8
/// micro-kernel, which dequantizes each tile as it stores it; the bias, activation and residual then
/// run on the tile while it is in cache, through the fp32 GEMM's epilogue code.
/// </summary>
internal static class Int8Gemm
{
    /// <summary>
    /// Longest reduction whose int32 sums cannot overflow: |Σ a·q − z·Σ q| ≤ 2 · 255 · 127 · K &lt; 2³¹.
    /// Longer ones (none in SAM) stay fp32.
    /// </summary>
    public const int MaxK = 32768;

    private const int McMax = 96;

    [ThreadStatic] private static Int8Path? _forcedPath;
    private static readonly ScratchPool<RowBlockScratch> Scratches = new();

    /// <summary>One worker's quantized row block and its per-row parameters.</summary>
    private sealed class RowBlockScratch
    {
        public byte[]? Packed, Row;
        public float[]? Scales;
        public int[]? Zeros;
    }

    /// <summary>The path int8 GEMMs started on this thread use, null for the fastest here (tests force each).</summary>
    internal static Int8Path? ForcedPath
    {
        get => _forcedPath;
        set
        {
            if (value is { } p && !Int8Kernels.IsSupported(p)) throw new PlatformNotSupportedException($"{p} is not supported on this CPU");
            _forcedPath = value;
        }
    }

    /// <summary>The path an int8 GEMM started on this thread uses.</summary>
    internal static Int8Path ActivePath => _forcedPath ?? Int8Kernels.Best;

    /// <summary>
    /// C = act(A · Wᵀ + bias) + residual for A [M, K] row-major from index 0, C and
    /// <paramref name="residual"/> [M, N]. <paramref name="parallel"/> spreads row blocks over all cores.
    /// </summary>
    public static unsafe void Multiply(int m, float[] a, Int8Weight w, float[] c, float[]? bias = null,
        Activation act = Activation.None, float[]? residual = null, bool parallel = true)
    {
        int n = w.N, k = w.K;
        if (m <= 0) return;
        if (k > MaxK) throw new ArgumentException($"int8 GEMM reduction of {k} exceeds {MaxK}");
        if ((long)m * k > a.Length || (long)m * n > c.Length) throw new ArgumentException($"int8 GEMM [{m}, {k}] x [{k}, {n}] overruns its buffers");
        if (bias is not null && bias.Length < n) throw new ArgumentException($"bias of {bias.Length} for {n} columns");
        if (residual is not null && residual.Length < (long)m * n) throw new ArgumentException($"residual of {residual.Length} for [{m}, {n}]");
        bool par = parallel && Environment.ProcessorCount > 1 && (long)m * n * k >= 1 << 20;
        int threads = par ? Environment.ProcessorCount : 1, mr = Int8Kernels.Mr;
        int mc = Math.Min(McMax, ((m + threads - 1) / threads + mr - 1) / mr * mr);
        int blocks = (m + mc - 1) / mc;
        var job = new Job(ActivePath, Gemm.ActivePath, m, mc, a, w, c, bias, act, residual);
        if (par && blocks > 1) CpuParallel.For(0, blocks, Scratches, job.RowBlock);
        else
        {
            var s = Scratches.Rent();
            for (int blk = 0; blk < blocks; blk++) job.RowBlock(blk, s);
            Scratches.Return(s);
        }
    }

    private sealed record Job(Int8Path Path, SimdPath EpiloguePath, int M, int Mc, float[] A, Int8Weight W, float[] C,
        float[]? Bias, Activation Act, float[]? Residual)
    {
        public unsafe void RowBlock(int blk, RowBlockScratch s)
        {
            const int mr = Int8Kernels.Mr, nr = Int8Kernels.Nr;
            int n = W.N, k = W.K, groups = W.Groups;
            int i0 = blk * Mc, rows = Math.Min(Mc, M - i0), rowPanels = (rows + mr - 1) / mr;
            var packed = Scratch.Ensure(ref s.Packed, rowPanels * groups * mr * 4);
            var scales = Scratch.Ensure(ref s.Scales, rowPanels * mr);
            var zeros = Scratch.Ensure(ref s.Zeros, rowPanels * mr);
            Int8Activations.QuantizeRows(A, i0 * k, k, rows, k, packed, scales, zeros, Scratch.Ensure(ref s.Row, groups * 4));
            float* edge = stackalloc float[mr * nr];
            fixed (byte* pa = packed)
            fixed (sbyte* pb = W.Packed)
            fixed (float* pc = C, rowScales = scales, colScales = W.Scales)
            fixed (int* rowZeros = zeros, colSums = W.ColumnSums)
            {
                for (int p = 0; p < W.Panels; p++)
                {
                    int j0 = p * nr, w = Math.Min(nr, n - j0);
                    sbyte* bp = pb + (long)p * W.PanelBytes;
                    for (int rp = 0; rp < rowPanels; rp++)
                    {
                        int r0 = i0 + rp * mr, h = Math.Min(mr, M - r0);
                        byte* ap = pa + (long)rp * groups * mr * 4;
                        float* cTile = pc + (long)r0 * n + j0;
                        bool full = h == mr && w == nr;
                        Int8Kernels.Run(Path, groups, ap, bp, full ? cTile : edge, full ? n : nr,
                            rowScales + rp * mr, rowZeros + rp * mr, colScales + j0, colSums + j0);
                        if (!full)
                            for (int r = 0; r < h; r++) new Span<float>(edge + r * nr, w).CopyTo(new Span<float>(cTile + (long)r * n, w));
                        Gemm.TileEpilogue(EpiloguePath, cTile, r0, h, j0, w, n, Bias, Act, Residual);
                    }
                }
            }
        }
    }
}
