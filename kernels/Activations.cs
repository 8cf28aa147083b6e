using ILGPU;
using ILGPU.Runtime;

namespace SamEngine.Kernels;

/// <summary>
/// How a kernel reads and writes activations: every kernel is generic over this, so one kernel body
/// serves fp32 storage (<see cref="Fp32Activations"/>) and fp16 storage (<see cref="Fp16Activations"/>).
/// Values always come out as float32 and compute stays in float32; only the stored form differs. The
/// static members are host-side: how a tensor's raw device bytes are viewed and filled.
/// </summary>
public interface IActivations<TSelf> where TSelf : struct, IActivations<TSelf>
{
    /// <summary>Element <paramref name="i"/> as float32.</summary>
    float Load(int i);

    /// <summary>Stores <paramref name="v"/> at <paramref name="i"/>, rounded to the storage format.</summary>
    void Store(int i, float v);

    /// <summary>Bytes one element takes.</summary>
    static abstract int BytesPerElement { get; }

    /// <summary>The first <paramref name="length"/> elements of a raw device buffer.</summary>
    static abstract TSelf Over(ArrayView<byte> raw, int length);

    /// <summary>Host → device, rounding to the storage format.</summary>
    static abstract void Upload(ReadOnlySpan<float> data, ArrayView<byte> raw);

    /// <summary>Device → host as float32 (the caller synchronises first).</summary>
    static abstract void Download(ArrayView<byte> raw, Span<float> data);
}

/// <summary>float32 activations.</summary>
public struct Fp32Activations : IActivations<Fp32Activations>
{
    /// <summary>The values.</summary>
    public ArrayView<float> Data;

    /// <inheritdoc />
    public readonly float Load(int i) => Data[i];

    /// <inheritdoc />
    public readonly void Store(int i, float v) => Data[i] = v;

    /// <inheritdoc />
    public static int BytesPerElement => 4;

    /// <inheritdoc />
    public static Fp32Activations Over(ArrayView<byte> raw, int length) => new() { Data = raw.Cast<float>().SubView(0, length) };

    /// <inheritdoc />
    public static void Upload(ReadOnlySpan<float> data, ArrayView<byte> raw) => Over(raw, data.Length).Data.CopyFromCPU(data.ToArray());

    /// <inheritdoc />
    public static void Download(ArrayView<byte> raw, Span<float> data)
    {
        var host = new float[data.Length];
        Over(raw, data.Length).Data.CopyToCPU(host);
        host.CopyTo(data);
    }
}

/// <summary>fp16 activations stored as IEEE half bit patterns (round to nearest even on store).</summary>
public struct Fp16Activations : IActivations<Fp16Activations>
{
    /// <summary>The fp16 bit patterns.</summary>
    public ArrayView<ushort> Bits;

    /// <inheritdoc />
    public readonly float Load(int i) => DeviceMath.HalfToFloat(Bits[i]);

    /// <inheritdoc />
    public readonly void Store(int i, float v) => Bits[i] = DeviceMath.FloatToHalf(v);

    /// <inheritdoc />
    public static int BytesPerElement => 2;

    /// <inheritdoc />
    public static Fp16Activations Over(ArrayView<byte> raw, int length) => new() { Bits = raw.Cast<ushort>().SubView(0, length) };

    /// <inheritdoc />
    public static void Upload(ReadOnlySpan<float> data, ArrayView<byte> raw)
    {
        var bits = new ushort[data.Length];
        for (int i = 0; i < bits.Length; i++) bits[i] = BitConverter.HalfToUInt16Bits((System.Half)data[i]);
        Over(raw, data.Length).Bits.CopyFromCPU(bits);
    }

    /// <inheritdoc />
    public static void Download(ArrayView<byte> raw, Span<float> data)
    {
        var bits = new ushort[data.Length];
        Over(raw, data.Length).Bits.CopyToCPU(bits);
        for (int i = 0; i < bits.Length; i++) data[i] = (float)BitConverter.UInt16BitsToHalf(bits[i]);
    }
}
