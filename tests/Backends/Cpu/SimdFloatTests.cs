using System.Runtime.Intrinsics;
using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The vector exp of the attention's softmax against double-precision exp, on every width this CPU runs.</summary>
public class SimdFloatTests
{
    [Fact]
    public unsafe void ExpIsWithinTwoUlpsAndFlushesBelowTheNormalRange()
    {
        var x = Enumerable.Range(-20000, 20001).Select(i => i * 0.0044f) // [-88, 0]: what a softmax feeds it
            .Concat([0f, -1e-8f, 1e-8f, 1f, 10f, 88f, -87.3f, -87.4f, -100f, float.NegativeInfinity]).ToArray();
        if (Vector512.IsHardwareAccelerated) Check<Simd512>(x);
        if (Vector256.IsHardwareAccelerated) Check<Simd256>(x);
        Check<SimdPortable>(x);
    }

    private const float MinNormal = 1.17549435e-38f;

    private static unsafe void Check<T>(float[] x) where T : struct, ISimdFloat<T>
    {
        int w = T.Count, n = (x.Length + w - 1) / w * w;
        var input = x.Concat(Enumerable.Repeat(0f, n - x.Length)).ToArray();
        var got = new float[n];
        fixed (float* pi = input, pg = got)
            for (int i = 0; i < n; i += w) SimdMath.Exp(T.Load(pi + i)).Store(pg + i);
        for (int i = 0; i < x.Length; i++)
        {
            double want = Math.Exp(x[i]);
            if (want < MinNormal) { Assert.True(got[i] == 0 || got[i] <= MinNormal, $"{typeof(T).Name} exp({x[i]}) = {got[i]}, expected ~0"); continue; }
            float wf = (float)want;
            float ulp = MathF.BitIncrement(wf) - wf;
            Assert.True(Math.Abs(got[i] - want) <= 2 * ulp, $"{typeof(T).Name} exp({x[i]}) = {got[i]}, expected {want} (2 ulp = {2 * ulp})");
        }
    }
}
