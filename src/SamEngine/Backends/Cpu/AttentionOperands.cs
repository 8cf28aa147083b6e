using System.Runtime.Intrinsics;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// One head's q, k or v rows read in place from a larger buffer: token i's d values start at
/// <c>Starts[i] + Offset</c> in <see cref="Source"/>, or, where <c>Starts[i]</c> is negative (a padded
/// window token: zero input, so its projection is the bias), at <see cref="Offset"/> in <see cref="Pad"/>.
/// Lets the packers read a window of the packed qkv [H, W, 3C] without gathering it first.
/// </summary>
internal readonly record struct HeadRows(float[] Source, int[] Starts, int Count, int Offset, float[]? Pad = null)
{
    /// <summary>Token <paramref name="i"/>'s <paramref name="d"/> values.</summary>
    public ReadOnlySpan<float> Row(int i, int d) =>
        Starts[i] >= 0 ? Source.AsSpan(Starts[i] + Offset, d) : Pad!.AsSpan(Offset, d);

    /// <summary>The rows of a dense x [n, d].</summary>
    public static HeadRows Dense(float[] x, int n, int d) => new(x, Enumerable.Range(0, n).Select(i => i * d).ToArray(), n, 0);
}

/// <summary>
/// An additive bias of every (query, key) score of one head, laid out as <see cref="FlashAttention"/>'s
/// transposed score blocks: from <paramref name="Offset"/>, per panel of NR queries, [keys rounded up to
/// MR][NR] (TinyViT's attention biases, <see cref="WindowAttention.BiasPanels"/>).
/// </summary>
internal readonly record struct ScoreBias(float[] Panels, int Offset);

/// <summary>
/// Decomposed relative-position tables Rh [2 GridH - 1, d] and Rw [2 GridW - 1, d] for a GridH x GridW
/// grid attending to itself, packed once per call as row panels of the micro-kernel of a SIMD path,
/// so that each query panel gets q · Rᵀ from the same kernel as its scores. The packed tables are
/// rented from <see cref="HostBufferPool.Shared"/> and go back when this is disposed.
/// </summary>
internal sealed class RelPos : IDisposable
{
    public RelPos(SimdPath path, float[] tableH, float[] tableW, int gridH, int gridW, int headDim)
    {
        int mr = GemmKernels.Tile(path).Mr;
        (GridH, GridW, HeadDim) = (gridH, gridW, headDim);
        RowsH = AttentionPacking.RoundUp(2 * gridH - 1, mr);
        RowsW = AttentionPacking.RoundUp(2 * gridW - 1, mr);
        PackedH = HostBufferPool.Shared.Rent(RowsH * headDim);
        PackedW = HostBufferPool.Shared.Rent(RowsW * headDim);
        AttentionPacking.PackTransposedPanels(HeadRows.Dense(tableH, 2 * gridH - 1, headDim), headDim, mr, scale: 1f, PackedH);
        AttentionPacking.PackTransposedPanels(HeadRows.Dense(tableW, 2 * gridW - 1, headDim), headDim, mr, scale: 1f, PackedW);
    }

    public int GridH { get; }
    public int GridW { get; }
    public int HeadDim { get; }

    /// <summary>Table rows rounded up to whole panels.</summary>
    public int RowsH { get; }
    public int RowsW { get; }

    /// <summary>Rh and Rw as row panels [panel][d][MR], zero rows past the table (the arrays may be longer).</summary>
    public float[] PackedH { get; }
    public float[] PackedW { get; }

    public void Dispose()
    {
        HostBufferPool.Shared.Return(PackedW);
        HostBufferPool.Shared.Return(PackedH);
    }
}

/// <summary>Packs attention operands into the GEMM micro-kernel's A and B panel layouts.</summary>
internal static class AttentionPacking
{
    public static int RoundUp(int x, int to) => (x + to - 1) / to * to;

    /// <summary>
    /// Rows of <paramref name="x"/> times <paramref name="scale"/> → panels of <paramref name="width"/>
    /// rows, each [d][width]: the A layout for keys (width MR), the B layout for queries (width NR).
    /// Zero past the last token. Channel-major inside a panel, so the stores run contiguously and the
    /// loads cycle over <paramref name="width"/> rows that stay in L1.
    /// </summary>
    public static unsafe void PackTransposedPanels(in HeadRows x, int d, int width, float scale, float[] dst)
    {
        int n = x.Count;
        float** rows = stackalloc float*[width];
        fixed (float* src = x.Source, pad = x.Pad, pd = dst)
        {
            for (int p0 = 0; p0 < n; p0 += width)
            {
                int count = Math.Min(width, n - p0);
                for (int j = 0; j < count; j++)
                {
                    int start = x.Starts[p0 + j];
                    rows[j] = (start >= 0 ? src + start : pad) + x.Offset;
                }
                float* panel = pd + (long)p0 * d;
                int c0 = 0;
                if (SimdTranspose.IsSupported)
                    for (; c0 + 8 <= d; c0 += 8)
                    {
                        int j0 = 0;
                        for (; j0 + 8 <= count; j0 += 8) SimdTranspose.Block8(rows + j0, c0, scale, panel + c0 * width + j0, width);
                        for (int c = c0; c < c0 + 8; c++) PackChannel(rows, c, j0, count, width, scale, panel + c * width);
                    }
                for (int c = c0; c < d; c++) PackChannel(rows, c, 0, count, width, scale, panel + c * width);
            }
        }
    }

    /// <summary>Channel c of rows [j0, count) into o[j0, count), zeros up to <paramref name="width"/>.</summary>
    private static unsafe void PackChannel(float** rows, int c, int j0, int count, int width, float scale, float* o)
    {
        for (int j = j0; j < count; j++) o[j] = rows[j][c] * scale;
        for (int j = count; j < width; j++) o[j] = 0;
    }

    /// <summary>
    /// Vᵀ for rows of <paramref name="x"/> → panels of <paramref name="mr"/> channels, each [nPad][mr]
    /// (<paramref name="nPad"/> ≥ tokens), zero past d and past the last token: the flash kernel's A panels
    /// of Vᵀ (8 channels) and, <paramref name="mr"/> = NR, <see cref="FewKeyAttention"/>'s B panels of V.
    /// </summary>
    public static unsafe void PackChannelPanels(in HeadRows x, int d, int mr, int nPad, float[] dst)
    {
        int n = x.Count;
        fixed (float* src = x.Source, pad = x.Pad, pd = dst)
        {
            for (int key = 0; key < nPad; key++)
            {
                int start = key < n ? x.Starts[key] : 0;
                float* row = key >= n ? null : (start >= 0 ? src + start : pad) + x.Offset;
                for (int c0 = 0; c0 < d; c0 += mr)
                {
                    float* seg = pd + (long)c0 * nPad + key * mr;
                    int w = row is null ? 0 : Math.Min(mr, d - c0);
                    if (w == 8 && Vector256.IsHardwareAccelerated)
                    {
                        Vector256.Store(Vector256.Load(row + c0), seg); // the common case: a whole 8-channel segment
                        continue;
                    }
                    if (w > 0) new ReadOnlySpan<float>(row + c0, w).CopyTo(new Span<float>(seg, w));
                    new Span<float>(seg + w, mr - w).Clear();
                }
            }
        }
    }
}
