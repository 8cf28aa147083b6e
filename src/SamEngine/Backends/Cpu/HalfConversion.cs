using System.Numerics;
using System.Runtime.CompilerServices;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// Vectorised fp16 → fp32 conversion for packing fp16 weights. .NET 10 exposes no F16C / vcvtph2ps
/// intrinsic, so this widens the bits and rebuilds the float with integer ops: the exponent is
/// re-biased by a multiply with 2^112 (exact, and it also turns fp16 subnormals into the right
/// normal floats); infinities and NaNs get the all-ones exponent back.
/// </summary>
internal static class HalfConversion
{
    private const uint ExpMask = 0x7C00, MagMask = 0x7FFF, SignMask = 0x8000;

    /// <summary>dst[i] = (float)fp16(src[i]), exactly.</summary>
    public static void ToSingle(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination too short");
        int i = 0, w = Vector<ushort>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var dstBits = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(dst);
            for (; i <= src.Length - w; i += w)
            {
                Vector.Widen(new Vector<ushort>(src[i..]), out Vector<uint> lo, out Vector<uint> hi);
                Convert(lo).CopyTo(dstBits[i..]);
                Convert(hi).CopyTo(dstBits[(i + w / 2)..]);
            }
        }
        for (; i < src.Length; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf(src[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> Convert(Vector<uint> h)
    {
        var mag = (h & new Vector<uint>(MagMask)) << 13;
        var scaled = Vector.AsVectorUInt32(Vector.AsVectorSingle(mag) * new Vector<float>(5.192296858534828e33f)); // 2^112
        var special = Vector.Equals(h & new Vector<uint>(ExpMask), new Vector<uint>(ExpMask));
        var value = Vector.ConditionalSelect(special, mag | new Vector<uint>(0x7F800000), scaled);
        return value | ((h & new Vector<uint>(SignMask)) << 16);
    }
}
