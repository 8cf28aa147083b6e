using System.Numerics;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// C[M, N] = act(A[M, K] · B + bias), A and C row-major float32, B any <see cref="GemmRhs"/>.
/// Goto-style blocking: B is packed once per call into column panels of the register tile's width
/// (fp16 converted on the way); each thread takes a block of <c>Mc</c> rows, packs its A block
/// [Mc, Kc] into row panels (L2-resident) and sweeps the B panels (one [Kc, NR] panel stays in L1
/// across the row panels) with the micro-kernel. Bias and activation run on each finished tile
/// while it is still in cache.
/// </summary>
public static class Gemm
{
    private const int Kc = 256, McMax = 144;

    /// <summary>
    /// Output columns up to which A is read in place rather than packed. Packing (a scalar transpose)
    /// costs about as much per element as one register tile's FMAs; reading the rows in place measured
    /// 1.2–1.6x faster at SAM 2.1's narrow stages ([65536, 448] x [448, 112], [16384, 896] x [896, 224]),
    /// 5–20 % faster at N = 448–2304 (Hiera's and ViT-B's Linears), no different at N = 3072, and 2–6 %
    /// slower at ViT-H's N = 3840 and 5120, where the packed panel's reuse wins.
    /// </summary>
    private const int InPlaceMaxN = 2304;

    [ThreadStatic] private static SimdPath? _forcedPath;
    private static readonly ScratchPool<RowBlockScratch> Scratches = new();

    /// <summary>One worker's packed A block [Mc, Kc].</summary>
    private sealed class RowBlockScratch
    {
        public float[]? PackedA;
    }

    /// <summary>
    /// The SIMD path used by GEMMs started on this thread, null for the widest the CPU has. Lets tests
    /// and benchmarks exercise every path on one machine.
    /// </summary>
    internal static SimdPath? ForcedPath
    {
        get => _forcedPath;
        set
        {
            if (value is { } p && !GemmKernels.IsSupported(p)) throw new PlatformNotSupportedException($"{p} is not accelerated on this CPU");
            _forcedPath = value;
        }
    }

    /// <summary>The path a GEMM started on this thread uses.</summary>
    internal static SimdPath ActivePath => _forcedPath ?? GemmKernels.Best;

    /// <summary>
    /// C[m, :] = act(A[m, :] · B + bias) for m in [0, M). A starts at <paramref name="aOffset"/> with
    /// row stride <paramref name="lda"/> (0: K), or with <paramref name="transposedA"/> is stored as
    /// Aᵀ [K, M] (row stride <paramref name="lda"/>, 0: M); C starts at <paramref name="cOffset"/> with
    /// row stride N. <paramref name="parallel"/> spreads row blocks over all cores. A
    /// <paramref name="residual"/> laid out as C (from index 0) is added after the activation, in the
    /// same epilogue pass: C = act(A·B + bias) + residual.
    /// </summary>
    public static unsafe void Multiply(int m, float[] a, int aOffset, GemmRhs b, float[] c, int cOffset,
        float[]? bias = null, Activation act = Activation.None, bool parallel = true, bool transposedA = false, int lda = 0,
        float[]? residual = null)
    {
        int n = b.N, k = b.K;
        if (m <= 0) return;
        lda = lda > 0 ? lda : transposedA ? m : k;
        long aEnd = transposedA ? aOffset + (long)(k - 1) * lda + m : aOffset + (long)(m - 1) * lda + k;
        if (lda < (transposedA ? m : k) || aEnd > a.Length || (long)cOffset + (long)m * n > c.Length)
            throw new ArgumentException($"GEMM [{m}, {k}] x [{k}, {n}] overruns its buffers");
        if (bias is not null && bias.Length < n) throw new ArgumentException($"bias of {bias.Length} for {n} columns");
        if (residual is not null && residual.Length < (long)m * n) throw new ArgumentException($"residual of {residual.Length} for [{m}, {n}]");
        var path = ActivePath;
        var (mr, nr) = GemmKernels.Tile(path);
        int panels = (n + nr - 1) / nr;
        bool par = parallel && Environment.ProcessorCount > 1 && (long)m * n * k >= 1 << 20;
        float[] packedB = HostBufferPool.Shared.Rent(panels * k * nr);
        try
        {
            PackPanels(b, nr, packedB, par);

            int threads = par ? Environment.ProcessorCount : 1;
            int mc = Math.Min(McMax / mr * mr, RoundUp((m + threads - 1) / threads, mr));
            int blocks = (m + mc - 1) / mc;
            var job = new Job(path, mr, nr, m, n, k, mc, a, aOffset, lda, packedB, 0, k * nr, c, cOffset, n, Accumulate: false, bias, act)
            {
                TransposedA = transposedA,
                Residual = residual,
            };
            if (par && blocks > 1) CpuParallel.For(0, blocks, Scratches, job.RowBlock);
            else job.RowBlocks(blocks);
        }
        finally { HostBufferPool.Shared.Return(packedB); }
    }

    /// <summary>
    /// Single-threaded C (+)= A · B over an already packed B (panels of <see cref="Panel"/> columns,
    /// <paramref name="panelStride"/> floats apart, the first at <paramref name="bOffset"/> at the
    /// reduction index this product starts from), with explicit row strides. For kernels that pack
    /// their operands once and multiply many blocks of them (attention).
    /// </summary>
    internal static void MultiplyPacked(SimdPath path, int m, int n, int k, float[] a, int aOffset, int lda,
        float[] packedB, int bOffset, int panelStride, float[] c, int cOffset, int ldc, bool accumulate,
        float[]? bias = null, Activation act = Activation.None)
    {
        var (mr, nr) = GemmKernels.Tile(path);
        int mc = Math.Min(McMax / mr * mr, RoundUp(m, mr));
        var job = new Job(path, mr, nr, m, n, k, mc, a, aOffset, lda, packedB, bOffset, panelStride, c, cOffset, ldc, accumulate, bias, act);
        job.RowBlocks((m + mc - 1) / mc);
    }

    /// <summary>
    /// <paramref name="b"/> packed once for <paramref name="path"/>, for callers that run
    /// <see cref="MultiplyPacked"/> many times over one operand.
    /// </summary>
    internal static float[] PackedPanels(SimdPath path, GemmRhs b)
    {
        int nr = Panel(path);
        var packed = new float[(b.N + nr - 1) / nr * b.K * nr];
        PackPanels(b, nr, packed, parallel: false);
        return packed;
    }

    /// <summary>Every panel of <paramref name="b"/>, <paramref name="nr"/> columns wide, into <paramref name="dst"/>: panel p at p·K·NR.</summary>
    private static void PackPanels(GemmRhs b, int nr, float[] dst, bool parallel)
    {
        int panels = (b.N + nr - 1) / nr, size = b.K * nr;
        if (parallel) CpuParallel.For(0, panels, p => b.PackPanel(p * nr, nr, dst.AsSpan(p * size, size)));
        else for (int p = 0; p < panels; p++) b.PackPanel(p * nr, nr, dst.AsSpan(p * size, size));
    }

    /// <summary>Columns per packed B panel on <paramref name="path"/>.</summary>
    internal static int Panel(SimdPath path) => GemmKernels.Tile(path).Nr;

    private static int RoundUp(int x, int to) => (x + to - 1) / to * to;

    private sealed record Job(SimdPath Path, int Mr, int Nr, int M, int N, int K, int Mc,
        float[] A, int AOffset, int Lda, float[] PackedB, int BOffset, int PanelStride,
        float[] C, int COffset, int Ldc, bool Accumulate, float[]? Bias, Activation Act)
    {
        /// <summary>A is stored as Aᵀ [K, M] with row stride <see cref="Lda"/>.</summary>
        public bool TransposedA { get; init; }

        /// <summary>Added to C after the activation: [M, Ldc] from index 0.</summary>
        public float[]? Residual { get; init; }

        /// <summary>Row blocks [0, <paramref name="blocks"/>) on this thread, with one scratch.</summary>
        public void RowBlocks(int blocks)
        {
            var s = Scratches.Rent();
            for (int blk = 0; blk < blocks; blk++) RowBlock(blk, s);
            Scratches.Return(s);
        }

        public unsafe void RowBlock(int blk, RowBlockScratch s)
        {
            int i0 = blk * Mc, rows = Math.Min(Mc, M - i0), rowPanels = (rows + Mr - 1) / Mr;
            int panels = (N + Nr - 1) / Nr;
            var aPack = Scratch.Ensure(ref s.PackedA, McMax * Kc);
            float* edge = stackalloc float[Mr * Nr];
            // Up to InPlaceMaxN columns, full row panels read A in place (only the ragged last panel
            // is packed, so that no row past M is read). A stored as Aᵀ is read in place as
            // well: a panel's MR values of one reduction step are adjacent there, as in a packed panel.
            // Rows a multiple of 4 KB apart (K = 1024, 3072, 5120) fall into the same L1 sets, and MR of
            // them read side by side evict each other: vit_b's MLP (K = 3072) ran 40 % slower in place.
            bool inPlace = N <= InPlaceMaxN && (TransposedA || Lda * sizeof(float) % 4096 != 0);
            int fullPanels = inPlace ? rows / Mr : 0;
            fixed (float* pa = aPack, pb = PackedB, pc = C, pA = A)
            {
                for (int k0 = 0; k0 < K; k0 += Kc)
                {
                    int kc = Math.Min(Kc, K - k0);
                    bool first = k0 == 0 && !Accumulate, last = k0 + kc == K;
                    if (fullPanels < rowPanels) PackA(i0 + fullPanels * Mr, rows - fullPanels * Mr, k0, kc, aPack);
                    for (int p = 0; p < panels; p++)
                    {
                        int j0 = p * Nr, w = Math.Min(Nr, N - j0);
                        float* bp = pb + BOffset + (long)p * PanelStride + (long)k0 * Nr;
                        for (int rp = 0; rp < rowPanels; rp++)
                        {
                            int r0 = i0 + rp * Mr, h = Math.Min(Mr, M - r0);
                            bool direct = rp < fullPanels;
                            float* ap = !direct ? pa + (rp - fullPanels) * Mr * kc
                                : TransposedA ? pA + AOffset + (long)k0 * Lda + r0 : pA + AOffset + (long)r0 * Lda + k0;
                            int aRow = direct && !TransposedA ? Lda : 1, aStep = !direct ? Mr : TransposedA ? Lda : 1;
                            float* cTile = pc + COffset + (long)r0 * Ldc + j0;
                            if (h == Mr && w == Nr) GemmKernels.Run(Path, kc, ap, aRow, aStep, bp, cTile, Ldc, accumulate: !first);
                            else EdgeTile(kc, ap, aRow, aStep, bp, cTile, h, w, first, edge);
                        }
                        // The finished column panel of the block (at most McMax x NR, still in L1/L2): one
                        // epilogue call per panel, not per register tile, whose dispatch weighed on short-K tiles.
                        if (last) Epilogue(pc + COffset + (long)i0 * Ldc + j0, i0, rows, j0, w);
                    }
                }
            }
        }

        /// <summary>A[i0 .. i0 + rows, k0 .. k0 + kc] into [panel][kc][Mr], zero rows past M.</summary>
        private void PackA(int i0, int rows, int k0, int kc, float[] dst)
        {
            if (TransposedA) { PackATransposed(i0, rows, k0, kc, dst); return; }
            for (int rp = 0; rp * Mr < rows; rp++)
            {
                var panel = dst.AsSpan(rp * Mr * kc, Mr * kc);
                for (int r = 0; r < Mr; r++)
                {
                    int row = rp * Mr + r;
                    if (row >= rows) { for (int kk = 0; kk < kc; kk++) panel[kk * Mr + r] = 0; continue; }
                    var src = A.AsSpan(AOffset + (i0 + row) * Lda + k0, kc);
                    for (int kk = 0; kk < kc; kk++) panel[kk * Mr + r] = src[kk];
                }
            }
        }

        /// <summary>As <see cref="PackA"/> from Aᵀ: each panel row is a contiguous run of Aᵀ.</summary>
        private void PackATransposed(int i0, int rows, int k0, int kc, float[] dst)
        {
            for (int rp = 0; rp * Mr < rows; rp++)
            {
                int h = Math.Min(Mr, rows - rp * Mr);
                for (int kk = 0; kk < kc; kk++)
                {
                    var d = dst.AsSpan((rp * kc + kk) * Mr, Mr);
                    A.AsSpan(AOffset + (k0 + kk) * Lda + i0 + rp * Mr, h).CopyTo(d);
                    d[h..].Clear();
                }
            }
        }

        /// <summary>A partial tile: computed in a scratch tile (by the half-width kernel when w fits it), then the valid h x w part copied.</summary>
        private unsafe void EdgeTile(int kc, float* ap, int aRow, int aStep, float* bp, float* cTile, int h, int w, bool first, float* edge)
        {
            new Span<float>(edge, Mr * Nr).Clear();
            if (!first)
                for (int r = 0; r < h; r++) new Span<float>(cTile + (long)r * Ldc, w).CopyTo(new Span<float>(edge + r * Nr, w));
            if (2 * w <= Nr) GemmKernels.RunLeftHalf(Path, kc, ap, aRow, aStep, bp, edge, Nr, accumulate: true);
            else GemmKernels.Run(Path, kc, ap, aRow, aStep, bp, edge, Nr, accumulate: true);
            for (int r = 0; r < h; r++) new Span<float>(edge + r * Nr, w).CopyTo(new Span<float>(cTile + (long)r * Ldc, w));
        }

        private unsafe void Epilogue(float* cTile, int r0, int h, int j0, int w) =>
            TileEpilogue(Path, cTile, r0, h, j0, w, Ldc, Bias, Act, Residual);
    }

    /// <summary>
    /// A finished h x w tile of C (rows from <paramref name="r0"/>, columns from <paramref name="j0"/>, row
    /// stride <paramref name="ldc"/>) = act(tile + bias) + residual, while it is in cache; the residual is
    /// laid out as C. Shared by the fp32 and int8 GEMMs.
    /// </summary>
    internal static unsafe void TileEpilogue(SimdPath path, float* cTile, int r0, int h, int j0, int w, int ldc,
        float[]? bias, Activation act, float[]? residual)
    {
        if (bias is null && act == Activation.None && residual is null) return;
        if (residual is not null && (long)(r0 + h - 1) * ldc + j0 + w > residual.Length)
            throw new ArgumentException($"a residual of {residual.Length} values for rows up to {r0 + h} of stride {ldc}");
        fixed (float* pr = residual)
            Elementwise.BiasActivate(path, cTile, h, w, ldc, bias, j0, act, pr == null ? null : pr + (long)r0 * ldc + j0);
    }
}
