using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// The right-hand matrix of a GEMM packed into column panels of <see cref="Gemm.PanelWidth"/>:
/// panel p holds columns [16p, 16p + 16) as [K][16], zero-padded past N, so the micro-kernel reads it
/// sequentially.
/// </summary>
public sealed class PackedMatrix
{
    internal PackedMatrix(int n, int k, float[] data) { N = n; K = k; Data = data; }

    /// <summary>Number of output columns.</summary>
    public int N { get; }

    /// <summary>Reduction length.</summary>
    public int K { get; }

    internal float[] Data { get; }
}

/// <summary>
/// C[M, N] = A[M, K] · B + bias, B packed (<see cref="PackedMatrix"/>), A and C row-major. Register
/// tiled 6 x 16 with FMA; rows are spread over all cores.
/// </summary>
public static class Gemm
{
    /// <summary>Columns per packed panel.</summary>
    public const int PanelWidth = 16;
    private const int RowTile = 6;

    /// <summary>Packs B given as [N, K] row-major (nn.Linear weight layout; C = A Bᵀ).</summary>
    public static PackedMatrix PackTransposed(ReadOnlySpan<float> b, int n, int k)
    {
        int panels = (n + PanelWidth - 1) / PanelWidth;
        var data = new float[panels * k * PanelWidth];
        for (int j = 0; j < n; j++)
        {
            int p = j / PanelWidth, col = j % PanelWidth;
            var row = b.Slice(j * k, k);
            int baseIdx = p * k * PanelWidth + col;
            for (int kk = 0; kk < k; kk++) data[baseIdx + kk * PanelWidth] = row[kk];
        }
        return new PackedMatrix(n, k, data);
    }

    /// <summary>Packs B given as [K, N] row-major (C = A B).</summary>
    public static PackedMatrix Pack(ReadOnlySpan<float> b, int k, int n)
    {
        int panels = (n + PanelWidth - 1) / PanelWidth;
        var data = new float[panels * k * PanelWidth];
        for (int kk = 0; kk < k; kk++)
        {
            var row = b.Slice(kk * n, n);
            for (int p = 0; p < panels; p++)
            {
                int j0 = p * PanelWidth, w = Math.Min(PanelWidth, n - j0);
                row.Slice(j0, w).CopyTo(data.AsSpan(p * k * PanelWidth + kk * PanelWidth, w));
            }
        }
        return new PackedMatrix(n, k, data);
    }

    /// <summary>
    /// C[m, :] = A[m, :] · B (+ bias) for m in [0, M). A starts at <paramref name="aOffset"/> with row
    /// stride K; C at <paramref name="cOffset"/> with row stride N. <paramref name="parallel"/> spreads
    /// row blocks over the thread pool.
    /// </summary>
    public static void Multiply(int m, float[] a, int aOffset, PackedMatrix b, float[] c, int cOffset, float[]? bias = null, bool parallel = true)
    {
        int blocks = (m + RowTile - 1) / RowTile;
        if (!parallel || blocks < 2 || (long)m * b.N * b.K < 1 << 16)
        {
            for (int blk = 0; blk < blocks; blk++) RowBlock(blk, m, a, aOffset, b, c, cOffset, bias);
            return;
        }
        // A handful of row blocks per task keeps the packed panels warm in cache.
        int perTask = Math.Max(1, Math.Min(8, blocks / (Environment.ProcessorCount * 4)));
        int tasks = (blocks + perTask - 1) / perTask;
        Parallel.For(0, tasks, t =>
        {
            int end = Math.Min(blocks, (t + 1) * perTask);
            for (int blk = t * perTask; blk < end; blk++) RowBlock(blk, m, a, aOffset, b, c, cOffset, bias);
        });
    }

    private static unsafe void RowBlock(int blk, int m, float[] a, int aOffset, PackedMatrix b, float[] c, int cOffset, float[]? bias)
    {
        int i0 = blk * RowTile, rows = Math.Min(RowTile, m - i0);
        int n = b.N, k = b.K, panels = (n + PanelWidth - 1) / PanelWidth;
        float* tile = stackalloc float[RowTile * PanelWidth];
        fixed (float* pa = a, pb = b.Data, pc = c)
        {
            float* aRow = pa + aOffset + (long)i0 * k;
            for (int p = 0; p < panels; p++)
            {
                float* panel = pb + (long)p * k * PanelWidth;
                int j0 = p * PanelWidth, w = Math.Min(PanelWidth, n - j0);
                if (rows == RowTile && Fma.IsSupported) Kernel6x16(k, aRow, panel, tile);
                else KernelGeneric(rows, k, aRow, panel, tile);
                for (int r = 0; r < rows; r++)
                {
                    float* dst = pc + cOffset + (long)(i0 + r) * n + j0;
                    float* src = tile + r * PanelWidth;
                    if (bias is null) for (int j = 0; j < w; j++) dst[j] = src[j];
                    else for (int j = 0; j < w; j++) dst[j] = src[j] + bias[j0 + j];
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x16(int k, float* a, float* panel, float* tile)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* a0 = a, a1 = a + k, a2 = a + 2 * k, a3 = a + 3 * k, a4 = a + 4 * k, a5 = a + 5 * k;
        for (int kk = 0; kk < k; kk++)
        {
            var b0 = Avx.LoadVector256(panel);
            var b1 = Avx.LoadVector256(panel + 8);
            panel += PanelWidth;
            var x = Vector256.Create(a0[kk]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[kk]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[kk]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[kk]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a4[kk]); c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a5[kk]); c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
        }
        c00.Store(tile); c01.Store(tile + 8); c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40); c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72); c50.Store(tile + 80); c51.Store(tile + 88);
    }

    private static unsafe void KernelGeneric(int rows, int k, float* a, float* panel, float* tile)
    {
        for (int r = 0; r < rows; r++)
        {
            var acc0 = Vector256<float>.Zero;
            var acc1 = Vector256<float>.Zero;
            float* ar = a + (long)r * k;
            float* pp = panel;
            for (int kk = 0; kk < k; kk++, pp += PanelWidth)
            {
                var x = Vector256.Create(ar[kk]);
                acc0 += x * Vector256.Load(pp);
                acc1 += x * Vector256.Load(pp + 8);
            }
            acc0.Store(tile + r * PanelWidth);
            acc1.Store(tile + r * PanelWidth + 8);
        }
    }
}
