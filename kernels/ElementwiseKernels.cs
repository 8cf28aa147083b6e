using ILGPU;
using ILGPU.Runtime;

namespace SamEngine.Kernels;

/// <summary>A strided block copy: for each of <c>Batch</c> blocks, <c>Length</c> contiguous elements.</summary>
public struct BlockCopy
{
    /// <summary>Elements copied per block.</summary>
    public int Length;
    /// <summary>Source and destination offsets of block 0 and the stride between blocks.</summary>
    public int SrcOffset, SrcStride, DstOffset, DstStride;
}

/// <summary>
/// One thread per element: broadcast add, activation, batched transpose, the block copy behind
/// SliceRows / ConcatRows, and fp16 → fp32 widening of parameters.
/// </summary>
public static class ElementwiseKernels
{
    /// <summary>y[i] = a[i] + b[i mod |b|].</summary>
    public static void AddBroadcast(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y) =>
        y[i] = a[i] + b[i % b.IntLength];

    /// <summary>y[i] = act(x[i]).</summary>
    public static void Activate(Index1D i, ArrayView<float> x, ArrayView<float> y, int activation) =>
        y[i] = DeviceMath.Activate(x[i], activation);

    /// <summary>[B, M, N] → [B, N, M]; i runs over the output.</summary>
    public static void Transpose(Index1D i, ArrayView<float> x, ArrayView<float> y, int m, int n)
    {
        int plane = m * n, b = i / plane, r = i - b * plane, j = r / m, row = r - j * m;
        y[i] = x[b * plane + row * n + j];
    }

    /// <summary>i runs over Batch x Length.</summary>
    public static void Copy(Index1D i, ArrayView<float> src, ArrayView<float> dst, BlockCopy c)
    {
        int blk = i / c.Length, e = i - blk * c.Length;
        dst[c.DstOffset + blk * c.DstStride + e] = src[c.SrcOffset + blk * c.SrcStride + e];
    }

    /// <summary>y[i] = float(bits[i]).</summary>
    public static void Widen(Index1D i, ArrayView<ushort> bits, ArrayView<float> y) => y[i] = DeviceMath.HalfToFloat(bits[i]);
}

/// <summary>Loads the element-wise kernels on one accelerator and launches them.</summary>
public sealed class ElementwiseLauncher(Accelerator accelerator)
{
    private readonly Lazy<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>> _add =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ElementwiseKernels.AddBroadcast));
    private readonly Lazy<Action<Index1D, ArrayView<float>, ArrayView<float>, int>> _act =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(ElementwiseKernels.Activate));
    private readonly Lazy<Action<Index1D, ArrayView<float>, ArrayView<float>, int, int>> _transpose =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(ElementwiseKernels.Transpose));
    private readonly Lazy<Action<Index1D, ArrayView<float>, ArrayView<float>, BlockCopy>> _copy =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, BlockCopy>(ElementwiseKernels.Copy));
    private readonly Lazy<Action<Index1D, ArrayView<ushort>, ArrayView<float>>> _widen =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<ushort>, ArrayView<float>>(ElementwiseKernels.Widen));

    /// <summary>y = a + b, b repeated over a.</summary>
    public void AddBroadcast(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y) => _add.Value(a.IntLength, a, b, y);

    /// <summary>y = act(x).</summary>
    public void Activate(ArrayView<float> x, ArrayView<float> y, int activation) => _act.Value(x.IntLength, x, y, activation);

    /// <summary>[B, M, N] → [B, N, M].</summary>
    public void Transpose(ArrayView<float> x, ArrayView<float> y, int m, int n) => _transpose.Value(x.IntLength, x, y, m, n);

    /// <summary>Copies <paramref name="blocks"/> blocks as <paramref name="c"/> describes.</summary>
    public void Copy(ArrayView<float> src, ArrayView<float> dst, int blocks, BlockCopy c)
    {
        if (blocks * c.Length > 0) _copy.Value(blocks * c.Length, src, dst, c);
    }

    /// <summary>y = float(bits).</summary>
    public void Widen(ArrayView<ushort> bits, ArrayView<float> y) => _widen.Value(bits.IntLength, bits, y);
}
