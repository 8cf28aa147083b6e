using ILGPU;
using ILGPU.Algorithms;

namespace SamEngine.Kernels;

/// <summary>
/// Scalar helpers every kernel shares: fp16 bits to and from float (System.Half does not compile for devices),
/// the exact GELU, and the activation switch of fused epilogues.
/// </summary>
public static class DeviceMath
{
    /// <summary>IEEE fp16 bit pattern to float32 (exact, subnormals and inf/NaN included).</summary>
    public static float HalfToFloat(ushort h)
    {
        uint sign = (uint)(h & 0x8000) << 16;
        uint exp = (uint)(h >> 10) & 0x1F;
        uint mant = (uint)h & 0x3FF;
        if (exp == 0)
        {
            // Zero or subnormal: mant x 2^-24, exact in float32. The int cast matters: an unsigned to
            // float conversion goes through double in IL, which OpenCL devices without fp64 reject.
            float f = (int)mant * 5.9604644775390625e-8f;
            return sign != 0 ? -f : f;
        }
        if (exp == 31) return Interop.IntAsFloat(sign | 0x7F800000u | (mant << 13));
        return Interop.IntAsFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /// <summary>
    /// float32 to the nearest IEEE fp16 bit pattern, ties to even, as <c>(Half)x</c> rounds: overflow
    /// to infinity, subnormals kept, NaN stays NaN.
    /// </summary>
    public static ushort FloatToHalf(float x)
    {
        uint bits = Interop.FloatAsInt(x);
        uint sign = (bits >> 16) & 0x8000u, abs = bits & 0x7FFFFFFFu;
        if (abs >= 0x7F800000u) return (ushort)(sign | (abs > 0x7F800000u ? 0x7E00u : 0x7C00u));
        if (abs >= 0x477FF000u) return (ushort)(sign | 0x7C00u); // rounds to 65536 or more
        if (abs >= 0x38800000u)
        {
            // Normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
            uint rebiased = abs - 0x38000000u;
            return (ushort)(sign | ((rebiased + 0xFFFu + ((rebiased >> 13) & 1u)) >> 13));
        }
        int exp = (int)(abs >> 23);
        if (exp < 102) return (ushort)sign; // below half the smallest subnormal
        // Subnormal: the value in units of 2^-24 is the full mantissa shifted right by 126 - exp.
        uint mant = (abs & 0x7FFFFFu) | 0x800000u;
        int shift = 126 - exp;
        uint q = mant >> shift, rest = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (q & 1u) != 0)) q++;
        return (ushort)(sign | q);
    }

    /// <summary>
    /// erfc(a) for a &gt;= 0 with relative error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev
    /// fit), so GELU stays accurate in its far negative tail where it is x·erfc/2.
    /// </summary>
    public static float ErfcNonNegative(float a)
    {
        float t = 1f / (1f + 0.5f * a);
        float poly = -a * a - 1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f
            + t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f
            + t * (-0.82215223f + t * 0.17087277f))))))));
        return t * XMath.Exp(poly);
    }

    /// <summary>Exact GELU, 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2).</summary>
    public static float Gelu(float x)
    {
        float z = x * 0.70710678118654752f;
        return x < 0 ? 0.5f * x * ErfcNonNegative(-z) : 0.5f * x * (2f - ErfcNonNegative(z));
    }

    /// <summary>Applies the activation code of <see cref="SamEngine.Backends.Activation"/> (0 none, 1 GELU, 2 ReLU).</summary>
    public static float Activate(float x, int act) => act == 1 ? Gelu(x) : act == 2 ? XMath.Max(x, 0f) : x;
}
