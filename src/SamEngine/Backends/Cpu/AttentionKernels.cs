using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// The micro-kernel of the attention's Oᵀ += Vᵀ · Pᵀ, whose A panels are head channels. SAM's head
/// dims (64, 80) are multiples of 8, not of the GEMM's 12 rows, so on the 512-bit path an 8 x 32 tile
/// (16 of 32 zmm accumulators, still FMA-bound: 10 loads per 16 FMAs) wastes no rows where the 12-row
/// one computed 72 rows for 64. The narrower paths keep the GEMM's tile (6 rows: at most 2 wasted, and
/// 16 ymm registers leave no room for a taller one).
/// </summary>
internal static class AttentionKernels
{
    /// <summary>Channels per Vᵀ panel on <paramref name="path"/>.</summary>
    public static int ValueRows(SimdPath path) => path == SimdPath.Vector512 ? 8 : GemmKernels.Tile(path).Mr;

    /// <summary>C[ValueRows, NR] (+)= Apanel[kc][ValueRows] · Bpanel[kc][NR] on <paramref name="path"/>.</summary>
    public static unsafe void RunValues(SimdPath path, int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        if (path == SimdPath.Vector512) Kernel512x8(kc, a, b, c, ldc, accumulate);
        else GemmKernels.Run(path, kc, a, b, c, ldc, accumulate);
    }

    /// <summary>8 x 32 tile with 512-bit FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Kernel512x8(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        int w = 16;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default,
            c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        if (accumulate)
        {
            c00 = Vector512.Load(c + 0 * ldc); c01 = Vector512.Load(c + 0 * ldc + w);
            c10 = Vector512.Load(c + 1 * ldc); c11 = Vector512.Load(c + 1 * ldc + w);
            c20 = Vector512.Load(c + 2 * ldc); c21 = Vector512.Load(c + 2 * ldc + w);
            c30 = Vector512.Load(c + 3 * ldc); c31 = Vector512.Load(c + 3 * ldc + w);
            c40 = Vector512.Load(c + 4 * ldc); c41 = Vector512.Load(c + 4 * ldc + w);
            c50 = Vector512.Load(c + 5 * ldc); c51 = Vector512.Load(c + 5 * ldc + w);
            c60 = Vector512.Load(c + 6 * ldc); c61 = Vector512.Load(c + 6 * ldc + w);
            c70 = Vector512.Load(c + 7 * ldc); c71 = Vector512.Load(c + 7 * ldc + w);
        }
        for (int k = 0; k < kc; k++, a += 8, b += 2 * w)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + w);
            var x0 = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x0, b0, c00); c01 = Vector512.FusedMultiplyAdd(x0, b1, c01);
            var x1 = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x1, b0, c10); c11 = Vector512.FusedMultiplyAdd(x1, b1, c11);
            var x2 = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x2, b0, c20); c21 = Vector512.FusedMultiplyAdd(x2, b1, c21);
            var x3 = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x3, b0, c30); c31 = Vector512.FusedMultiplyAdd(x3, b1, c31);
            var x4 = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x4, b0, c40); c41 = Vector512.FusedMultiplyAdd(x4, b1, c41);
            var x5 = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x5, b0, c50); c51 = Vector512.FusedMultiplyAdd(x5, b1, c51);
            var x6 = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x6, b0, c60); c61 = Vector512.FusedMultiplyAdd(x6, b1, c61);
            var x7 = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x7, b0, c70); c71 = Vector512.FusedMultiplyAdd(x7, b1, c71);
        }
        c00.Store(c + 0 * ldc); c01.Store(c + 0 * ldc + w);
        c10.Store(c + 1 * ldc); c11.Store(c + 1 * ldc + w);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + w);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + w);
        c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + w);
        c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + w);
        c60.Store(c + 6 * ldc); c61.Store(c + 6 * ldc + w);
        c70.Store(c + 7 * ldc); c71.Store(c + 7 * ldc + w);
    }
}
