using System.Runtime.Intrinsics;
using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The vector exp of the attention's softmax and the vector reciprocal against double precision, on every width this CPU runs.</summary>
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

    [Fact]
    public void ReciprocalIsWithinTwoUlps()
    {
        // GELU feeds it 1 + 0.33 |x| / √2 ≥ 1; the range is wider to test the estimate's refinement.
        var x = Enumerable.Range(0, 20000).Select(i => 1f + i * 0.013f).Concat([0.001f, 0.5f, 3e5f, -1f, -7.25f]).ToArray();
        if (Vector512.IsHardwareAccelerated) CheckReciprocal<Simd512>(x);
        if (Vector256.IsHardwareAccelerated) CheckReciprocal<Simd256>(x);
        CheckReciprocal<SimdPortable>(x);
    }

    private static void CheckReciprocal<T>(float[] x) where T : struct, ISimdFloat<T>
    {
        var got = Map<T>(x, T.Reciprocal, 1f);
        for (int i = 0; i < x.Length; i++)
        {
            double want = 1.0 / x[i];
            float wf = (float)want;
            float ulp = Math.Abs(MathF.BitIncrement(Math.Abs(wf)) - Math.Abs(wf));
            Assert.True(Math.Abs(got[i] - want) <= 2 * ulp, $"{typeof(T).Name} 1 / {x[i]} = {got[i]}, expected {want} (2 ulp = {2 * ulp})");
        }
    }

    /// <summary><paramref name="f"/> applied to x vector by vector (the last one padded with <paramref name="pad"/>).</summary>
    private static unsafe float[] Map<T>(float[] x, Func<T, T> f, float pad) where T : struct, ISimdFloat<T>
    {
        int w = T.Count, n = (x.Length + w - 1) / w * w;
        var input = x.Concat(Enumerable.Repeat(pad, n - x.Length)).ToArray();
        var got = new float[n];
        fixed (float* pi = input, pg = got)
            for (int i = 0; i < n; i += w) f(T.Load(pi + i)).Store(pg + i);
        return got;
    }

    private static void Check<T>(float[] x) where T : struct, ISimdFloat<T>
    {
        var got = Map<T>(x, SimdMath.Exp, 0f);
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
