using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// One float vector of a <see cref="SimdPath"/>'s width, so that a kernel written once against this
/// interface is specialised by the JIT for each width (struct type arguments are never shared).
/// Only what the attention's softmax passes need; the operations map to single instructions
/// (the <c>Native</c> min/max/convert forms, which skip .NET's NaN and saturation fix-ups).
/// </summary>
internal interface ISimdFloat<TSelf> where TSelf : struct, ISimdFloat<TSelf>
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    static abstract unsafe TSelf Load(float* p);
    unsafe void Store(float* p);
    static abstract TSelf Create(float x);
    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);

    /// <summary>a · b + c, fused.</summary>
    static abstract TSelf Fma(TSelf a, TSelf b, TSelf c);
    static abstract TSelf Max(TSelf a, TSelf b);
    static abstract TSelf Min(TSelf a, TSelf b);
    static abstract TSelf Round(TSelf x);

    /// <summary>
    /// 1 / x within about 2 ulp: the hardware estimate refined by one Newton step where the CPU has
    /// one (a vector divide is several times slower on some CPUs), else a division.
    /// </summary>
    static abstract TSelf Reciprocal(TSelf x);

    /// <summary>2ⁿ for integral n in [-126, 127].</summary>
    static abstract TSelf Pow2(TSelf n);

    /// <summary><paramref name="value"/> where x ≥ limit, else 0.</summary>
    static abstract TSelf ZeroBelow(TSelf x, TSelf limit, TSelf value);

    /// <summary>Whether every lane equals <paramref name="x"/>.</summary>
    static abstract bool AllEqual(TSelf a, float x);

    /// <summary>The sum of the lanes.</summary>
    static abstract float Sum(TSelf a);
}

/// <summary>A fast vectorised exp for float32, written once for every width.</summary>
internal static class SimdMath
{
    // Below this exp(x) is subnormal; the result is flushed to 0 (also for -inf).
    private const float MinArg = -87.33654475f, MaxArg = 88.37626266f;
    private const float Log2E = 1.44269504088896341f;
    // ln 2 in two parts (Cody-Waite): Ln2Hi has few mantissa bits, so n · Ln2Hi is exact.
    private const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;

    /// <summary>
    /// exp(x): x = n ln2 + r with |r| ≤ ln2 / 2, exp(r) by a degree-6 minimax polynomial (Cephes'
    /// expf coefficients, relative error about 1 ulp), times 2ⁿ built in the exponent bits.
    /// Flushes to 0 below the smallest normal result; -inf gives 0, as the softmax needs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Exp<T>(T x) where T : struct, ISimdFloat<T>
    {
        var xc = T.Min(T.Max(x, T.Create(MinArg)), T.Create(MaxArg));
        var n = T.Round(xc * T.Create(Log2E));
        var r = T.Fma(n, T.Create(-Ln2Lo), T.Fma(n, T.Create(-Ln2Hi), xc));
        var p = T.Fma(T.Create(1.9875691500e-4f), r, T.Create(1.3981999507e-3f));
        p = T.Fma(p, r, T.Create(8.3334519073e-3f));
        p = T.Fma(p, r, T.Create(4.1665795894e-2f));
        p = T.Fma(p, r, T.Create(1.6666665459e-1f));
        p = T.Fma(p, r, T.Create(5.0000001201e-1f));
        p = T.Fma(p, r * r, r) + T.Create(1f);
        return T.ZeroBelow(x, T.Create(MinArg), p * T.Pow2(n));
    }
}

/// <summary>512-bit lanes (AVX-512).</summary>
internal readonly struct Simd512(Vector512<float> v) : ISimdFloat<Simd512>
{
    private readonly Vector512<float> _v = v;

    public static int Count => Vector512<float>.Count;
    public static unsafe Simd512 Load(float* p) => new(Vector512.Load(p));
    public unsafe void Store(float* p) => _v.Store(p);
    public static Simd512 Create(float x) => new(Vector512.Create(x));
    public static Simd512 operator +(Simd512 a, Simd512 b) => new(a._v + b._v);
    public static Simd512 operator -(Simd512 a, Simd512 b) => new(a._v - b._v);
    public static Simd512 operator *(Simd512 a, Simd512 b) => new(a._v * b._v);
    public static Simd512 operator /(Simd512 a, Simd512 b) => new(a._v / b._v);
    public static Simd512 Fma(Simd512 a, Simd512 b, Simd512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    public static Simd512 Max(Simd512 a, Simd512 b) => new(Vector512.MaxNative(a._v, b._v));
    public static Simd512 Min(Simd512 a, Simd512 b) => new(Vector512.MinNative(a._v, b._v));
    public static Simd512 Round(Simd512 x) => new(Vector512.Round(x._v));
    public static Simd512 Reciprocal(Simd512 x)
    {
        if (!Avx512F.IsSupported) return new(Vector512<float>.One / x._v);
        var r = Avx512F.Reciprocal14(x._v); // relative error ≤ 2⁻¹⁴; one Newton step squares it
        return new(Vector512.FusedMultiplyAdd(r, Vector512.FusedMultiplyAdd(-x._v, r, Vector512<float>.One), r));
    }
    public static Simd512 Pow2(Simd512 n) => new(Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n._v) + Vector512.Create(127), 23).AsSingle());
    public static Simd512 ZeroBelow(Simd512 x, Simd512 limit, Simd512 value) => new(Vector512.GreaterThanOrEqual(x._v, limit._v) & value._v);
    public static bool AllEqual(Simd512 a, float x) => a._v == Vector512.Create(x);
    public static float Sum(Simd512 a) => Vector512.Sum(a._v);
}

/// <summary>256-bit lanes (AVX2 + FMA).</summary>
internal readonly struct Simd256(Vector256<float> v) : ISimdFloat<Simd256>
{
    private readonly Vector256<float> _v = v;

    public static int Count => Vector256<float>.Count;
    public static unsafe Simd256 Load(float* p) => new(Vector256.Load(p));
    public unsafe void Store(float* p) => _v.Store(p);
    public static Simd256 Create(float x) => new(Vector256.Create(x));
    public static Simd256 operator +(Simd256 a, Simd256 b) => new(a._v + b._v);
    public static Simd256 operator -(Simd256 a, Simd256 b) => new(a._v - b._v);
    public static Simd256 operator *(Simd256 a, Simd256 b) => new(a._v * b._v);
    public static Simd256 operator /(Simd256 a, Simd256 b) => new(a._v / b._v);
    public static Simd256 Fma(Simd256 a, Simd256 b, Simd256 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
    public static Simd256 Max(Simd256 a, Simd256 b) => new(Vector256.MaxNative(a._v, b._v));
    public static Simd256 Min(Simd256 a, Simd256 b) => new(Vector256.MinNative(a._v, b._v));
    public static Simd256 Round(Simd256 x) => new(Vector256.Round(x._v));
    public static Simd256 Reciprocal(Simd256 x)
    {
        // rcpps is only 12 bits (one Newton step gives ~23): AVX-512VL's 14-bit estimate where present.
        if (!Avx512F.VL.IsSupported) return new(Vector256<float>.One / x._v);
        var r = Avx512F.VL.Reciprocal14(x._v);
        return new(Vector256.FusedMultiplyAdd(r, Vector256.FusedMultiplyAdd(-x._v, r, Vector256<float>.One), r));
    }
    public static Simd256 Pow2(Simd256 n) => new(Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n._v) + Vector256.Create(127), 23).AsSingle());
    public static Simd256 ZeroBelow(Simd256 x, Simd256 limit, Simd256 value) => new(Vector256.GreaterThanOrEqual(x._v, limit._v) & value._v);
    public static bool AllEqual(Simd256 a, float x) => a._v == Vector256.Create(x);
    public static float Sum(Simd256 a) => Vector256.Sum(a._v);
}

/// <summary>128-bit lanes (AdvSimd/NEON on Arm64; SSE + FMA on x86).</summary>
internal readonly struct Simd128(Vector128<float> v) : ISimdFloat<Simd128>
{
    private readonly Vector128<float> _v = v;

    public static int Count => Vector128<float>.Count;
    public static unsafe Simd128 Load(float* p) => new(Vector128.Load(p));
    public unsafe void Store(float* p) => _v.Store(p);
    public static Simd128 Create(float x) => new(Vector128.Create(x));
    public static Simd128 operator +(Simd128 a, Simd128 b) => new(a._v + b._v);
    public static Simd128 operator -(Simd128 a, Simd128 b) => new(a._v - b._v);
    public static Simd128 operator *(Simd128 a, Simd128 b) => new(a._v * b._v);
    public static Simd128 operator /(Simd128 a, Simd128 b) => new(a._v / b._v);
    public static Simd128 Fma(Simd128 a, Simd128 b, Simd128 c) => new(Vector128.FusedMultiplyAdd(a._v, b._v, c._v));
    public static Simd128 Max(Simd128 a, Simd128 b) => new(Vector128.MaxNative(a._v, b._v));
    public static Simd128 Min(Simd128 a, Simd128 b) => new(Vector128.MinNative(a._v, b._v));
    public static Simd128 Round(Simd128 x) => new(Vector128.Round(x._v));
    public static Simd128 Reciprocal(Simd128 x)
    {
        // NEON's frecpe is only 8 bits (two frecps steps to reach ~23): a division keeps it simple and exact.
        if (!Avx512F.VL.IsSupported) return new(Vector128<float>.One / x._v);
        var r = Avx512F.VL.Reciprocal14(x._v);
        return new(Vector128.FusedMultiplyAdd(r, Vector128.FusedMultiplyAdd(-x._v, r, Vector128<float>.One), r));
    }
    public static Simd128 Pow2(Simd128 n) => new(Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n._v) + Vector128.Create(127), 23).AsSingle());
    public static Simd128 ZeroBelow(Simd128 x, Simd128 limit, Simd128 value) => new(Vector128.GreaterThanOrEqual(x._v, limit._v) & value._v);
    public static bool AllEqual(Simd128 a, float x) => a._v == Vector128.Create(x);
    public static float Sum(Simd128 a) => Vector128.Sum(a._v);
}

/// <summary>Portable <see cref="Vector{T}"/> lanes (AdvSimd on Arm, SSE/AVX elsewhere).</summary>
internal readonly struct SimdPortable(Vector<float> v) : ISimdFloat<SimdPortable>
{
    private readonly Vector<float> _v = v;

    public static int Count => Vector<float>.Count;
    public static unsafe SimdPortable Load(float* p) => new(Unsafe.ReadUnaligned<Vector<float>>(p));
    public unsafe void Store(float* p) => Unsafe.WriteUnaligned(p, _v);
    public static SimdPortable Create(float x) => new(new Vector<float>(x));
    public static SimdPortable operator +(SimdPortable a, SimdPortable b) => new(a._v + b._v);
    public static SimdPortable operator -(SimdPortable a, SimdPortable b) => new(a._v - b._v);
    public static SimdPortable operator *(SimdPortable a, SimdPortable b) => new(a._v * b._v);
    public static SimdPortable operator /(SimdPortable a, SimdPortable b) => new(a._v / b._v);
    public static SimdPortable Fma(SimdPortable a, SimdPortable b, SimdPortable c) => new(Vector.FusedMultiplyAdd(a._v, b._v, c._v));
    public static SimdPortable Max(SimdPortable a, SimdPortable b) => new(Vector.MaxNative(a._v, b._v));
    public static SimdPortable Min(SimdPortable a, SimdPortable b) => new(Vector.MinNative(a._v, b._v));
    public static SimdPortable Round(SimdPortable x) => new(Vector.Round(x._v));
    public static SimdPortable Reciprocal(SimdPortable x) => new(Vector<float>.One / x._v);
    public static SimdPortable Pow2(SimdPortable n) => new(Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32Native(n._v) + new Vector<int>(127), 23)));
    public static SimdPortable ZeroBelow(SimdPortable x, SimdPortable limit, SimdPortable value) =>
        new(Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x._v, limit._v), value._v, Vector<float>.Zero));
    public static bool AllEqual(SimdPortable a, float x) => a._v == new Vector<float>(x);
    public static float Sum(SimdPortable a) => Vector.Sum(a._v);
}
