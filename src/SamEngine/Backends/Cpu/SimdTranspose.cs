using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// 8 x 8 float transposes in AVX registers, for the packers that turn rows into column panels: one
/// block costs 8 loads, 24 shuffles and 8 stores instead of 64 scalar gathers or scatters.
/// Callers keep a scalar path for CPUs without AVX and for ragged edges.
/// </summary>
internal static class SimdTranspose
{
    /// <summary>Whether the transposes run here.</summary>
    public static bool IsSupported => Avx.IsSupported;

    /// <summary>dst[c · dstStride + r] = src[r · srcStride + c] for r, c &lt; 8.</summary>
    public static unsafe void Block8(float* src, int srcStride, float* dst, int dstStride) =>
        Store(Avx.LoadVector256(src), Avx.LoadVector256(src + srcStride), Avx.LoadVector256(src + 2 * srcStride),
            Avx.LoadVector256(src + 3 * srcStride), Avx.LoadVector256(src + 4 * srcStride), Avx.LoadVector256(src + 5 * srcStride),
            Avx.LoadVector256(src + 6 * srcStride), Avx.LoadVector256(src + 7 * srcStride), dst, dstStride);

    /// <summary>dst[c · dstStride + r] = rows[r][offset + c] · scale for r, c &lt; 8: rows that lie anywhere.</summary>
    public static unsafe void Block8(float** rows, int offset, float scale, float* dst, int dstStride)
    {
        var s = Vector256.Create(scale);
        Store(Avx.LoadVector256(rows[0] + offset) * s, Avx.LoadVector256(rows[1] + offset) * s, Avx.LoadVector256(rows[2] + offset) * s,
            Avx.LoadVector256(rows[3] + offset) * s, Avx.LoadVector256(rows[4] + offset) * s, Avx.LoadVector256(rows[5] + offset) * s,
            Avx.LoadVector256(rows[6] + offset) * s, Avx.LoadVector256(rows[7] + offset) * s, dst, dstStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, float* dst, int dstStride)
    {
        // Pairs of rows interleaved, then quadruples, then the 128-bit halves swapped into place.
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(s3, s7, 0x31));
    }
}
