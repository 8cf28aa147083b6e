using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.Backends.Cpu;

/// <summary>The instructions an int8 GEMM micro-kernel uses.</summary>
internal enum Int8Path
{
    /// <summary>Plain managed integer arithmetic: runs anywhere, slower than the fp32 GEMM.</summary>
    Portable,
    /// <summary>AVX-VNNI's VPDPBUSD on 256-bit vectors: uint8 x int8, four products summed per int32 lane.</summary>
    AvxVnni,
}

/// <summary>
/// Int8 GEMM micro-kernels: a tile C[Mr, Nr] = dequantize(Apanel · Bpanel) over the whole reduction,
/// the int32 sums held in registers. A is the <see cref="Int8Activations"/> panel (uint8, zero point per
/// row), B the <see cref="Int8Weight"/> panel (int8, symmetric per column). The tile is written as
/// fp32: c[r, j] = (float)(Σ aq·bq − zero[r] · colSum[j]) · (rowScale[r] · colScale[j]), the zero-point
/// correction in exact integer arithmetic. Every path computes the same integers and the same two
/// rounded float operations, so the paths agree bit for bit.
/// </summary>
internal static class Int8Kernels
{
    /// <summary>Rows of the register tile: 12 of the 16 ymm registers accumulate, 2 hold B, 1 the broadcast A.</summary>
    public const int Mr = 6;

    /// <summary>Columns of the register tile (two vectors of eight int32 lanes).</summary>
    public const int Nr = 16;

    /// <summary>The fastest path this CPU runs.</summary>
    public static Int8Path Best => AvxVnni.IsSupported ? Int8Path.AvxVnni : Int8Path.Portable;

    /// <summary>Whether <paramref name="path"/> can run here.</summary>
    public static bool IsSupported(Int8Path path) => path == Int8Path.Portable || AvxVnni.IsSupported;

    /// <summary>
    /// One full tile: <paramref name="groups"/> groups of four reduction steps from the packed panels
    /// <paramref name="a"/> and <paramref name="b"/>, dequantized into <paramref name="c"/> (row stride
    /// <paramref name="ldc"/>) with the tile's row and column quantization parameters.
    /// </summary>
    public static unsafe void Run(Int8Path path, int groups, byte* a, sbyte* b, float* c, int ldc,
        float* rowScales, int* rowZeros, float* colScales, int* colSums)
    {
        if (path == Int8Path.AvxVnni) KernelAvxVnni(groups, a, b, c, ldc, rowScales, rowZeros, colScales, colSums);
        else KernelPortable(groups, a, b, c, ldc, rowScales, rowZeros, colScales, colSums);
    }

    /// <summary>6 x 16 tile with VPDPBUSD: per group, two B loads, six 4-byte A broadcasts, twelve dot-adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelAvxVnni(int groups, byte* a, sbyte* b, float* c, int ldc,
        float* rowScales, int* rowZeros, float* colScales, int* colSums)
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int g = 0; g < groups; g++, a += 4 * Mr, b += 4 * Nr)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 32);
            var x0 = Vector256.Create(*(int*)a).AsByte(); c00 = AvxVnni.MultiplyWideningAndAdd(c00, x0, b0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, x0, b1);
            var x1 = Vector256.Create(*(int*)(a + 4)).AsByte(); c10 = AvxVnni.MultiplyWideningAndAdd(c10, x1, b0); c11 = AvxVnni.MultiplyWideningAndAdd(c11, x1, b1);
            var x2 = Vector256.Create(*(int*)(a + 8)).AsByte(); c20 = AvxVnni.MultiplyWideningAndAdd(c20, x2, b0); c21 = AvxVnni.MultiplyWideningAndAdd(c21, x2, b1);
            var x3 = Vector256.Create(*(int*)(a + 12)).AsByte(); c30 = AvxVnni.MultiplyWideningAndAdd(c30, x3, b0); c31 = AvxVnni.MultiplyWideningAndAdd(c31, x3, b1);
            var x4 = Vector256.Create(*(int*)(a + 16)).AsByte(); c40 = AvxVnni.MultiplyWideningAndAdd(c40, x4, b0); c41 = AvxVnni.MultiplyWideningAndAdd(c41, x4, b1);
            var x5 = Vector256.Create(*(int*)(a + 20)).AsByte(); c50 = AvxVnni.MultiplyWideningAndAdd(c50, x5, b0); c51 = AvxVnni.MultiplyWideningAndAdd(c51, x5, b1);
        }
        var sum0 = Vector256.Load(colSums);
        var sum1 = Vector256.Load(colSums + 8);
        var scale0 = Vector256.Load(colScales);
        var scale1 = Vector256.Load(colScales + 8);
        StoreRow(c00, c01, c, rowZeros[0], rowScales[0], sum0, sum1, scale0, scale1);
        StoreRow(c10, c11, c + ldc, rowZeros[1], rowScales[1], sum0, sum1, scale0, scale1);
        StoreRow(c20, c21, c + 2L * ldc, rowZeros[2], rowScales[2], sum0, sum1, scale0, scale1);
        StoreRow(c30, c31, c + 3L * ldc, rowZeros[3], rowScales[3], sum0, sum1, scale0, scale1);
        StoreRow(c40, c41, c + 4L * ldc, rowZeros[4], rowScales[4], sum0, sum1, scale0, scale1);
        StoreRow(c50, c51, c + 5L * ldc, rowZeros[5], rowScales[5], sum0, sum1, scale0, scale1);
    }

    /// <summary><see cref="Dequantize"/> on 16 columns of one row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow(Vector256<int> lo, Vector256<int> hi, float* row, int rowZero, float rowScale,
        Vector256<int> sum0, Vector256<int> sum1, Vector256<float> scale0, Vector256<float> scale1)
    {
        var zero = Vector256.Create(rowZero);
        var s = Vector256.Create(rowScale);
        (Vector256.ConvertToSingle(lo - zero * sum0) * (s * scale0)).Store(row);
        (Vector256.ConvertToSingle(hi - zero * sum1) * (s * scale1)).Store(row + 8);
    }

    /// <summary>The same tile in scalar integer arithmetic.</summary>
    private static unsafe void KernelPortable(int groups, byte* a, sbyte* b, float* c, int ldc,
        float* rowScales, int* rowZeros, float* colScales, int* colSums)
    {
        int* acc = stackalloc int[Mr * Nr];
        new Span<int>(acc, Mr * Nr).Clear();
        for (int g = 0; g < groups; g++, a += 4 * Mr, b += 4 * Nr)
            for (int r = 0; r < Mr; r++)
            {
                byte* ar = a + 4 * r;
                int* accRow = acc + r * Nr;
                for (int j = 0; j < Nr; j++)
                {
                    sbyte* bj = b + 4 * j;
                    accRow[j] += ar[0] * bj[0] + ar[1] * bj[1] + ar[2] * bj[2] + ar[3] * bj[3];
                }
            }
        for (int r = 0; r < Mr; r++)
            for (int j = 0; j < Nr; j++)
                c[(long)r * ldc + j] = Dequantize(acc[r * Nr + j], rowZeros[r], colSums[j], rowScales[r], colScales[j]);
    }

    /// <summary>One output from its integer dot product: the formula every path computes.</summary>
    public static float Dequantize(int dot, int rowZero, int colSum, float rowScale, float colScale) =>
        (float)(dot - rowZero * colSum) * (rowScale * colScale);
}
