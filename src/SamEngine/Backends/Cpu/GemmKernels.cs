using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Backends.Cpu;

/// <summary>The SIMD width a GEMM micro-kernel uses.</summary>
internal enum SimdPath
{
    /// <summary>Portable <see cref="Vector{T}"/> (AdvSimd on Arm, SSE/AVX elsewhere): 4 x 2 vectors.</summary>
    Portable,
    /// <summary>128-bit FMA (AdvSimd/NEON on Arm64; SSE with FMA on x86, where it only runs when forced): 8 x 8.</summary>
    Vector128,
    /// <summary>256-bit FMA (AVX2): 6 x 16.</summary>
    Vector256,
    /// <summary>512-bit FMA (AVX-512): 12 x 32.</summary>
    Vector512,
}

/// <summary>
/// Register-tiled GEMM micro-kernels: C[MR, NR] (+)= Apanel[kc][MR] · Bpanel[kc][NR], accumulators held
/// in registers for the whole kc loop. The tile shapes use most of the vector register file
/// (24 of 32 zmm, 12 of 16 ymm, 16 of 32 NEON q registers) and leave room for the B loads and the A broadcast.
/// Generated in the same shape for each width; only one runs on a given machine.
/// </summary>
internal static class GemmKernels
{
    /// <summary>The widest path this CPU accelerates.</summary>
    public static SimdPath Best =>
        Vector512.IsHardwareAccelerated ? SimdPath.Vector512
        : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
        : Vector128.IsHardwareAccelerated ? SimdPath.Vector128 : SimdPath.Portable;

    /// <summary>Whether <paramref name="path"/> can run here.</summary>
    public static bool IsSupported(SimdPath path) => path switch
    {
        SimdPath.Vector512 => Vector512.IsHardwareAccelerated,
        SimdPath.Vector256 => Vector256.IsHardwareAccelerated,
        SimdPath.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };

    /// <summary>Rows and columns of the register tile of <paramref name="path"/>.</summary>
    public static (int Mr, int Nr) Tile(SimdPath path) => path switch
    {
        SimdPath.Vector512 => (12, 32),
        SimdPath.Vector256 => (6, 16),
        SimdPath.Vector128 => (8, 8),
        _ => (4, 2 * Vector<float>.Count),
    };

    /// <summary>
    /// Runs the micro-kernel of <paramref name="path"/> on a full tile of C with row stride <paramref name="ldc"/>.
    /// A's element (r, k) is at a[r · aRow + k · aStep]: a packed panel has aRow = 1, aStep = MR; a
    /// row-major A read in place has aRow = its row stride, aStep = 1.
    /// </summary>
    public static unsafe void Run(SimdPath path, int kc, float* a, int aRow, int aStep, float* b, float* c, int ldc, bool accumulate)
    {
        if (aRow == 1) Run<PackedRows>(path, kc, a, aRow, aStep, b, c, ldc, accumulate);
        else Run<StridedRows>(path, kc, a, aRow, aStep, b, c, ldc, accumulate);
    }

    /// <summary>As the other overload on a packed A panel.</summary>
    public static unsafe void Run(SimdPath path, int kc, float* a, float* b, float* c, int ldc, bool accumulate) =>
        Run<PackedRows>(path, kc, a, 1, Tile(path).Mr, b, c, ldc, accumulate);

    /// <summary>
    /// As <see cref="Run(SimdPath, int, float*, int, int, float*, float*, int, bool)"/> on a tile whose
    /// valid columns fit the left half of the panel (B still packed NR wide): the half-width kernel
    /// skips the FMAs of the padding. A GEMM of N = 72 (SAM 2.1's nine decoder tokens x eight heads) has
    /// a last panel of 8 columns in 32.
    /// </summary>
    public static unsafe void RunLeftHalf(SimdPath path, int kc, float* a, int aRow, int aStep, float* b, float* c, int ldc, bool accumulate)
    {
        if (aRow == 1) RunLeftHalf<PackedRows>(path, kc, a, aRow, aStep, b, c, ldc, accumulate);
        else RunLeftHalf<StridedRows>(path, kc, a, aRow, aStep, b, c, ldc, accumulate);
    }

    private static unsafe void RunLeftHalf<TRows>(SimdPath path, int kc, float* a, int aRow, int aStep, float* b, float* c, int ldc, bool accumulate)
        where TRows : struct, IRowOffsets
    {
        switch (path)
        {
            case SimdPath.Vector512: Kernel512LeftHalf<TRows>(kc, a, aRow, aStep, b, c, ldc, accumulate); break;
            case SimdPath.Vector256: Kernel256LeftHalf<TRows>(kc, a, aRow, aStep, b, c, ldc, accumulate); break;
            // The narrow paths' tiles are one or two registers wide: the full kernel.
            default: Run<TRows>(path, kc, a, aRow, aStep, b, c, ldc, accumulate); break;
        }
    }

    private static unsafe void Run<TRows>(SimdPath path, int kc, float* a, int aRow, int aStep, float* b, float* c, int ldc, bool accumulate)
        where TRows : struct, IRowOffsets
    {
        switch (path)
        {
            case SimdPath.Vector512: Kernel512<TRows>(kc, a, aRow, aStep, b, c, ldc, accumulate); break;
            case SimdPath.Vector256: Kernel256<TRows>(kc, a, aRow, aStep, b, c, ldc, accumulate); break;
            case SimdPath.Vector128: Kernel128<TRows>(kc, a, aRow, aStep, b, c, ldc, accumulate); break;
            default: KernelPortable<TRows>(kc, a, aRow, aStep, b, c, ldc, accumulate); break;
        }
    }

    /// <summary>
    /// Where row r of A starts relative to row 0. A type parameter rather than a value, so the packed
    /// kernels compile with constant offsets and the strided ones get their own code.
    /// </summary>
    internal interface IRowOffsets
    {
        static abstract int Of(int r, int aRow);
    }

    /// <summary>A packed panel: rows are adjacent.</summary>
    internal struct PackedRows : IRowOffsets
    {
        public static int Of(int r, int aRow) => r;
    }

    /// <summary>A row-major A read in place: rows are aRow apart.</summary>
    internal struct StridedRows : IRowOffsets
    {
        public static int Of(int r, int aRow) => r * aRow;
    }

    /// <summary>12 x 32 tile with 512-bit FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Kernel512<TRows>(int kc, float* a, int aRow, int aStep, float* b, float* c, int ldc, bool accumulate)
        where TRows : struct, IRowOffsets
    {
        int w = 16;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default, c90 = default, c91 = default, c100 = default, c101 = default, c110 = default, c111 = default;
        if (accumulate)
        {
            c00 = Vector512.Load(c + 0 * ldc); c01 = Vector512.Load(c + 0 * ldc + 1 * w);
            c10 = Vector512.Load(c + 1 * ldc); c11 = Vector512.Load(c + 1 * ldc + 1 * w);
            c20 = Vector512.Load(c + 2 * ldc); c21 = Vector512.Load(c + 2 * ldc + 1 * w);
            c30 = Vector512.Load(c + 3 * ldc); c31 = Vector512.Load(c + 3 * ldc + 1 * w);
            c40 = Vector512.Load(c + 4 * ldc); c41 = Vector512.Load(c + 4 * ldc + 1 * w);
            c50 = Vector512.Load(c + 5 * ldc); c51 = Vector512.Load(c + 5 * ldc + 1 * w);
            c60 = Vector512.Load(c + 6 * ldc); c61 = Vector512.Load(c + 6 * ldc + 1 * w);
            c70 = Vector512.Load(c + 7 * ldc); c71 = Vector512.Load(c + 7 * ldc + 1 * w);
            c80 = Vector512.Load(c + 8 * ldc); c81 = Vector512.Load(c + 8 * ldc + 1 * w);
            c90 = Vector512.Load(c + 9 * ldc); c91 = Vector512.Load(c + 9 * ldc + 1 * w);
            c100 = Vector512.Load(c + 10 * ldc); c101 = Vector512.Load(c + 10 * ldc + 1 * w);
            c110 = Vector512.Load(c + 11 * ldc); c111 = Vector512.Load(c + 11 * ldc + 1 * w);
        }
        for (int k = 0; k < kc; k++, a += aStep, b += 2 * w)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 1 * w);
            var x0 = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x0, b0, c00); c01 = Vector512.FusedMultiplyAdd(x0, b1, c01);
            var x1 = Vector512.Create(a[TRows.Of(1, aRow)]); c10 = Vector512.FusedMultiplyAdd(x1, b0, c10); c11 = Vector512.FusedMultiplyAdd(x1, b1, c11);
            var x2 = Vector512.Create(a[TRows.Of(2, aRow)]); c20 = Vector512.FusedMultiplyAdd(x2, b0, c20); c21 = Vector512.FusedMultiplyAdd(x2, b1, c21);
            var x3 = Vector512.Create(a[TRows.Of(3, aRow)]); c30 = Vector512.FusedMultiplyAdd(x3, b0, c30); c31 = Vector512.FusedMultiplyAdd(x3, b1, c31);
            var x4 = Vector512.Create(a[TRows.Of(4, aRow)]); c40 = Vector512.FusedMultiplyAdd(x4, b0, c40); c41 = Vector512.FusedMultiplyAdd(x4, b1, c41);
            var x5 = Vector512.Create(a[TRows.Of(5, aRow)]); c50 = Vector512.FusedMultiplyAdd(x5, b0, c50); c51 = Vector512.FusedMultiplyAdd(x5, b1, c51);
            var x6 = Vector512.Create(a[TRows.Of(6, aRow)]); c60 = Vector512.FusedMultiplyAdd(x6, b0, c60); c61 = Vector512.FusedMultiplyAdd(x6, b1, c61);
            var x7 = Vector512.Create(a[TRows.Of(7, aRow)]); c70 = Vector512.FusedMultiplyAdd(x7, b0, c70); c71 = Vector512.FusedMultiplyAdd(x7, b1, c71);
            var x8 = Vector512.Create(a[TRows.Of(8, aRow)]); c80 = Vector512.FusedMultiplyAdd(x8, b0, c80); c81 = Vector512.FusedMultiplyAdd(x8, b1, c81);
            var x9 = Vector512.Create(a[TRows.Of(9, aRow)]); c90 = Vector512.FusedMultiplyAdd(x9, b0, c90); c91 = Vector512.FusedMultiplyAdd(x9, b1, c91);
            var x10 = Vector512.Create(a[TRows.Of(10, aRow)]); c100 = Vector512.FusedMultiplyAdd(x10, b0, c100); c101 = Vector512.FusedMultiplyAdd(x10, b1, c101);
            var x11 = Vector512.Create(a[TRows.Of(11, aRow)]); c110 = Vector512.FusedMultiplyAdd(x11, b0, c110); c111 = Vector512.FusedMultiplyAdd(x11, b1, c111);
        }
        c00.Store(c + 0 * ldc); c01.Store(c + 0 * ldc + 1 * w);
        c10.Store(c + 1 * ldc); c11.Store(c + 1 * ldc + 1 * w);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 1 * w);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 1 * w);
        c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 1 * w);
        c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 1 * w);
        c60.Store(c + 6 * ldc); c61.Store(c + 6 * ldc + 1 * w);
        c70.Store(c + 7 * ldc); c71.Store(c + 7 * ldc + 1 * w);
        c80.Store(c + 8 * ldc); c81.Store(c + 8 * ldc + 1 * w);
        c90.Store(c + 9 * ldc); c91.Store(c + 9 * ldc + 1 * w);
        c100.Store(c + 10 * ldc); c101.Store(c + 10 * ldc + 1 * w);
        c110.Store(c + 11 * ldc); c111.Store(c + 11 * ldc + 1 * w);
    }

    /// <summary>The left 12 x 16 of <see cref="Kernel512{TRows}"/>'s tile (B panels 32 wide).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Kernel512LeftHalf<TRows>(int kc, float* a, int aRow, int aStep, float* b, float* c, int ldc, bool accumulate)
        where TRows : struct, IRowOffsets
    {
        int w = 16;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        if (accumulate)
        {
            c0 = Vector512.Load(c + 0 * ldc); c1 = Vector512.Load(c + 1 * ldc); c2 = Vector512.Load(c + 2 * ldc); c3 = Vector512.Load(c + 3 * ldc);
            c4 = Vector512.Load(c + 4 * ldc); c5 = Vector512.Load(c + 5 * ldc); c6 = Vector512.Load(c + 6 * ldc); c7 = Vector512.Load(c + 7 * ldc);
            c8 = Vector512.Load(c + 8 * ldc); c9 = Vector512.Load(c + 9 * ldc); c10 = Vector512.Load(c + 10 * ldc); c11 = Vector512.Load(c + 11 * ldc);
        }
        for (int k = 0; k < kc; k++, a += aStep, b += 2 * w)
        {
            var b0 = Vector512.Load(b);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(1, aRow)]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(2, aRow)]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(3, aRow)]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(4, aRow)]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(5, aRow)]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(6, aRow)]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(7, aRow)]), b0, c7);
            c8 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(8, aRow)]), b0, c8);
            c9 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(9, aRow)]), b0, c9);
            c10 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(10, aRow)]), b0, c10);
            c11 = Vector512.FusedMultiplyAdd(Vector512.Create(a[TRows.Of(11, aRow)]), b0, c11);
        }
        c0.Store(c + 0 * ldc); c1.Store(c + 1 * ldc); c2.Store(c + 2 * ldc); c3.Store(c + 3 * ldc);
        c4.Store(c + 4 * ldc); c5.Store(c + 5 * ldc); c6.Store(c + 6 * ldc); c7.Store(c + 7 * ldc);
        c8.Store(c + 8 * ldc); c9.Store(c + 9 * ldc); c10.Store(c + 10 * ldc); c11.Store(c + 11 * ldc);
    }

    /// <summary>6 x 16 tile with 256-bit FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Kernel256<TRows>(int kc, float* a, int aRow, int aStep, float* b, float* c, int ldc, bool accumulate)
        where TRows : struct, IRowOffsets
    {
        int w = 8;
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (accumulate)
        {
            c00 = Vector256.Load(c + 0 * ldc); c01 = Vector256.Load(c + 0 * ldc + 1 * w);
            c10 = Vector256.Load(c + 1 * ldc); c11 = Vector256.Load(c + 1 * ldc + 1 * w);
            c20 = Vector256.Load(c + 2 * ldc); c21 = Vector256.Load(c + 2 * ldc + 1 * w);
            c30 = Vector256.Load(c + 3 * ldc); c31 = Vector256.Load(c + 3 * ldc + 1 * w);
            c40 = Vector256.Load(c + 4 * ldc); c41 = Vector256.Load(c + 4 * ldc + 1 * w);
            c50 = Vector256.Load(c + 5 * ldc); c51 = Vector256.Load(c + 5 * ldc + 1 * w);
        }
        for (int k = 0; k < kc; k++, a += aStep, b += 2 * w)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 1 * w);
            var x0 = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x0, b0, c00); c01 = Vector256.FusedMultiplyAdd(x0, b1, c01);
            var x1 = Vector256.Create(a[TRows.Of(1, aRow)]); c10 = Vector256.FusedMultiplyAdd(x1, b0, c10); c11 = Vector256.FusedMultiplyAdd(x1, b1, c11);
            var x2 = Vector256.Create(a[TRows.Of(2, aRow)]); c20 = Vector256.FusedMultiplyAdd(x2, b0, c20); c21 = Vector256.FusedMultiplyAdd(x2, b1, c21);
            var x3 = Vector256.Create(a[TRows.Of(3, aRow)]); c30 = Vector256.FusedMultiplyAdd(x3, b0, c30); c31 = Vector256.FusedMultiplyAdd(x3, b1, c31);
            var x4 = Vector256.Create(a[TRows.Of(4, aRow)]); c40 = Vector256.FusedMultiplyAdd(x4, b0, c40); c41 = Vector256.FusedMultiplyAdd(x4, b1, c41);
            var x5 = Vector256.Create(a[TRows.Of(5, aRow)]); c50 = Vector256.FusedMultiplyAdd(x5, b0, c50); c51 = Vector256.FusedMultiplyAdd(x5, b1, c51);
        }
        c00.Store(c + 0 * ldc); c01.Store(c + 0 * ldc + 1 * w);
        c10.Store(c + 1 * ldc); c11.Store(c + 1 * ldc + 1 * w);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 1 * w);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 1 * w);
        c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 1 * w);
        c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 1 * w);
    }

    /// <summary>The left 6 x 8 of <see cref="Kernel256{TRows}"/>'s tile (B panels 16 wide).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Kernel256LeftHalf<TRows>(int kc, float* a, int aRow, int aStep, float* b, float* c, int ldc, bool accumulate)
        where TRows : struct, IRowOffsets
    {
        int w = 8;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        if (accumulate)
        {
            c0 = Vector256.Load(c + 0 * ldc); c1 = Vector256.Load(c + 1 * ldc); c2 = Vector256.Load(c + 2 * ldc);
            c3 = Vector256.Load(c + 3 * ldc); c4 = Vector256.Load(c + 4 * ldc); c5 = Vector256.Load(c + 5 * ldc);
        }
        for (int k = 0; k < kc; k++, a += aStep, b += 2 * w)
        {
            var b0 = Vector256.Load(b);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[0]), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a[TRows.Of(1, aRow)]), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a[TRows.Of(2, aRow)]), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a[TRows.Of(3, aRow)]), b0, c3);
            c4 = Vector256.FusedMultiplyAdd(Vector256.Create(a[TRows.Of(4, aRow)]), b0, c4);
            c5 = Vector256.FusedMultiplyAdd(Vector256.Create(a[TRows.Of(5, aRow)]), b0, c5);
        }
        c0.Store(c + 0 * ldc); c1.Store(c + 1 * ldc); c2.Store(c + 2 * ldc);
        c3.Store(c + 3 * ldc); c4.Store(c + 4 * ldc); c5.Store(c + 5 * ldc);
    }

    /// <summary>
    /// 8 x 8 tile with 128-bit FMA (fmla on Arm64). NEON has 32 q registers: 16 accumulators, 2 B
    /// vectors and the broadcasts; 8 rows also divide SAM's head dims (64, 80), so the attention's
    /// Vᵀ panels waste no rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Kernel128<TRows>(int kc, float* a, int aRow, int aStep, float* b, float* c, int ldc, bool accumulate)
        where TRows : struct, IRowOffsets
    {
        int w = 4;
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        if (accumulate)
        {
            c00 = Vector128.Load(c + 0 * ldc); c01 = Vector128.Load(c + 0 * ldc + 1 * w);
            c10 = Vector128.Load(c + 1 * ldc); c11 = Vector128.Load(c + 1 * ldc + 1 * w);
            c20 = Vector128.Load(c + 2 * ldc); c21 = Vector128.Load(c + 2 * ldc + 1 * w);
            c30 = Vector128.Load(c + 3 * ldc); c31 = Vector128.Load(c + 3 * ldc + 1 * w);
            c40 = Vector128.Load(c + 4 * ldc); c41 = Vector128.Load(c + 4 * ldc + 1 * w);
            c50 = Vector128.Load(c + 5 * ldc); c51 = Vector128.Load(c + 5 * ldc + 1 * w);
            c60 = Vector128.Load(c + 6 * ldc); c61 = Vector128.Load(c + 6 * ldc + 1 * w);
            c70 = Vector128.Load(c + 7 * ldc); c71 = Vector128.Load(c + 7 * ldc + 1 * w);
        }
        for (int k = 0; k < kc; k++, a += aStep, b += 2 * w)
        {
            var b0 = Vector128.Load(b); var b1 = Vector128.Load(b + 1 * w);
            var x0 = Vector128.Create(a[0]); c00 = Vector128.FusedMultiplyAdd(x0, b0, c00); c01 = Vector128.FusedMultiplyAdd(x0, b1, c01);
            var x1 = Vector128.Create(a[TRows.Of(1, aRow)]); c10 = Vector128.FusedMultiplyAdd(x1, b0, c10); c11 = Vector128.FusedMultiplyAdd(x1, b1, c11);
            var x2 = Vector128.Create(a[TRows.Of(2, aRow)]); c20 = Vector128.FusedMultiplyAdd(x2, b0, c20); c21 = Vector128.FusedMultiplyAdd(x2, b1, c21);
            var x3 = Vector128.Create(a[TRows.Of(3, aRow)]); c30 = Vector128.FusedMultiplyAdd(x3, b0, c30); c31 = Vector128.FusedMultiplyAdd(x3, b1, c31);
            var x4 = Vector128.Create(a[TRows.Of(4, aRow)]); c40 = Vector128.FusedMultiplyAdd(x4, b0, c40); c41 = Vector128.FusedMultiplyAdd(x4, b1, c41);
            var x5 = Vector128.Create(a[TRows.Of(5, aRow)]); c50 = Vector128.FusedMultiplyAdd(x5, b0, c50); c51 = Vector128.FusedMultiplyAdd(x5, b1, c51);
            var x6 = Vector128.Create(a[TRows.Of(6, aRow)]); c60 = Vector128.FusedMultiplyAdd(x6, b0, c60); c61 = Vector128.FusedMultiplyAdd(x6, b1, c61);
            var x7 = Vector128.Create(a[TRows.Of(7, aRow)]); c70 = Vector128.FusedMultiplyAdd(x7, b0, c70); c71 = Vector128.FusedMultiplyAdd(x7, b1, c71);
        }
        c00.Store(c + 0 * ldc); c01.Store(c + 0 * ldc + 1 * w);
        c10.Store(c + 1 * ldc); c11.Store(c + 1 * ldc + 1 * w);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 1 * w);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 1 * w);
        c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 1 * w);
        c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 1 * w);
        c60.Store(c + 6 * ldc); c61.Store(c + 6 * ldc + 1 * w);
        c70.Store(c + 7 * ldc); c71.Store(c + 7 * ldc + 1 * w);
    }

    /// <summary>4 x (2 Vector&lt;float&gt;) tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void KernelPortable<TRows>(int kc, float* a, int aRow, int aStep, float* b, float* c, int ldc, bool accumulate)
        where TRows : struct, IRowOffsets
    {
        int w = Vector<float>.Count;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        if (accumulate)
        {
            c00 = Unsafe.ReadUnaligned<Vector<float>>(c + 0 * ldc); c01 = Unsafe.ReadUnaligned<Vector<float>>(c + 0 * ldc + 1 * w);
            c10 = Unsafe.ReadUnaligned<Vector<float>>(c + 1 * ldc); c11 = Unsafe.ReadUnaligned<Vector<float>>(c + 1 * ldc + 1 * w);
            c20 = Unsafe.ReadUnaligned<Vector<float>>(c + 2 * ldc); c21 = Unsafe.ReadUnaligned<Vector<float>>(c + 2 * ldc + 1 * w);
            c30 = Unsafe.ReadUnaligned<Vector<float>>(c + 3 * ldc); c31 = Unsafe.ReadUnaligned<Vector<float>>(c + 3 * ldc + 1 * w);
        }
        for (int k = 0; k < kc; k++, a += aStep, b += 2 * w)
        {
            var b0 = Unsafe.ReadUnaligned<Vector<float>>(b); var b1 = Unsafe.ReadUnaligned<Vector<float>>(b + 1 * w);
            var x0 = new Vector<float>(a[0]); c00 = Vector.FusedMultiplyAdd(x0, b0, c00); c01 = Vector.FusedMultiplyAdd(x0, b1, c01);
            var x1 = new Vector<float>(a[TRows.Of(1, aRow)]); c10 = Vector.FusedMultiplyAdd(x1, b0, c10); c11 = Vector.FusedMultiplyAdd(x1, b1, c11);
            var x2 = new Vector<float>(a[TRows.Of(2, aRow)]); c20 = Vector.FusedMultiplyAdd(x2, b0, c20); c21 = Vector.FusedMultiplyAdd(x2, b1, c21);
            var x3 = new Vector<float>(a[TRows.Of(3, aRow)]); c30 = Vector.FusedMultiplyAdd(x3, b0, c30); c31 = Vector.FusedMultiplyAdd(x3, b1, c31);
        }
        Unsafe.WriteUnaligned(c + 0 * ldc, c00); Unsafe.WriteUnaligned(c + 0 * ldc + 1 * w, c01);
        Unsafe.WriteUnaligned(c + 1 * ldc, c10); Unsafe.WriteUnaligned(c + 1 * ldc + 1 * w, c11);
        Unsafe.WriteUnaligned(c + 2 * ldc, c20); Unsafe.WriteUnaligned(c + 2 * ldc + 1 * w, c21);
        Unsafe.WriteUnaligned(c + 3 * ldc, c30); Unsafe.WriteUnaligned(c + 3 * ldc + 1 * w, c31);
    }
}
