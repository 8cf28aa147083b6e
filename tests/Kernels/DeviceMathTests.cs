using SamEngine.Kernels;

namespace SamEngine.Tests.Kernels;

/// <summary>The device-side fp16 conversions against .NET's <see cref="System.Half"/> (run on the host: they are plain C#).</summary>
public sealed class DeviceMathTests
{
    private static IEnumerable<float> Samples()
    {
        float[] edges =
        [
            0f, -0f, 1f, -1f, 65504f, 65519.99f, 65520f, -65520f, 1e6f, float.PositiveInfinity, float.NegativeInfinity, float.NaN,
            6.1035156e-5f, 6.1035152e-5f, 5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f, 8.940697e-8f, 1e-10f, 0.33333334f, 2049f, 2051f,
        ];
        foreach (var e in edges) yield return e;
        var rng = new Random(5);
        for (int i = 0; i < 200_000; i++)
        {
            // Uniform bit patterns cover every exponent; scaled uniforms cover the ranges activations use.
            yield return i % 2 == 0 ? BitConverter.Int32BitsToSingle(rng.Next() ^ (rng.Next(2) << 31)) : (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-26, 17)));
        }
    }

    [Fact]
    public void FloatToHalfRoundsLikeSystemHalf()
    {
        foreach (float x in Samples())
        {
            ushort expected = BitConverter.HalfToUInt16Bits((Half)x), actual = DeviceMath.FloatToHalf(x);
            if (float.IsNaN(x)) Assert.True(Half.IsNaN(BitConverter.UInt16BitsToHalf(actual)), $"NaN became {actual:X4}");
            else Assert.True(expected == actual, $"{x:G9} (0x{BitConverter.SingleToInt32Bits(x):X8}): expected 0x{expected:X4}, got 0x{actual:X4}");
        }
    }

    [Fact]
    public void HalfToFloatIsExactForEveryPattern()
    {
        for (int h = 0; h <= ushort.MaxValue; h++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)h), actual = DeviceMath.HalfToFloat((ushort)h);
            Assert.True(float.IsNaN(expected) ? float.IsNaN(actual) : BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual), $"0x{h:X4}");
            if (!float.IsNaN(expected)) Assert.Equal(h, DeviceMath.FloatToHalf(actual));
        }
    }
}
