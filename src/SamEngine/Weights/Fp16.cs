using System.Runtime.CompilerServices;

namespace SamEngine.Weights;

/// <summary>fp16 and bf16 conversions on the host (round to nearest even, as numpy and torch do).</summary>
public static class Fp16
{
    /// <summary>fp16 bits to float32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>float32 to fp16 bits, round to nearest even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float x) => BitConverter.HalfToUInt16Bits((Half)x);

    /// <summary>bf16 bits to float32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BFloat16ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Converts a span of fp16 bits to float32.</summary>
    public static void ToFloat(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination too short");
        for (int i = 0; i < src.Length; i++) dst[i] = ToFloat(src[i]);
    }
}
