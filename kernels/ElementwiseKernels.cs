using ILGPU;
using ILGPU.Algorithms;
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

/// <summary>The full-resolution extent of a 2x resolution change in NHWC (<see cref="ElementwiseKernels.MaxPool2x2"/>'s input, <see cref="ElementwiseKernels.AddUpsampled2x"/>'s output).</summary>
public struct GridShape
{
    /// <summary>Height, width and channels.</summary>
    public int H, W, C;
}

/// <summary>
/// One thread per element: broadcast add, activation, batched transpose, the block copy behind
/// SliceRows / ConcatRows, fp16 parameters into activations, and Hiera's 2x max pooling and FPN upsample-add.
/// </summary>
public static class ElementwiseKernels
{
    /// <summary>y[i] = a[i] + b[i mod bLength].</summary>
    public static void AddBroadcast<TAct>(Index1D i, TAct a, TAct b, TAct y, int bLength) where TAct : struct, IActivations<TAct> =>
        y.Store(i, a.Load(i) + b.Load(i % bLength));

    /// <summary>y[i] = act(x[i]).</summary>
    public static void Activate<TAct>(Index1D i, TAct x, TAct y, int activation) where TAct : struct, IActivations<TAct> =>
        y.Store(i, DeviceMath.Activate(x.Load(i), activation));

    /// <summary>[B, M, N] → [B, N, M]; i runs over the output.</summary>
    public static void Transpose<TAct>(Index1D i, TAct x, TAct y, int m, int n) where TAct : struct, IActivations<TAct>
    {
        int plane = m * n, b = i / plane, r = i - b * plane, j = r / m, row = r - j * m;
        y.Store(i, x.Load(b * plane + row * n + j));
    }

    /// <summary>i runs over Batch x Length.</summary>
    public static void Copy<TAct>(Index1D i, TAct src, TAct dst, BlockCopy c) where TAct : struct, IActivations<TAct>
    {
        int blk = i / c.Length, e = i - blk * c.Length;
        dst.Store(c.DstOffset + blk * c.DstStride + e, src.Load(c.SrcOffset + blk * c.SrcStride + e));
    }

    /// <summary>2x2 max pooling, stride 2, floor: x [B, H, W, C] → y [B, H/2, W/2, C]; i runs over the output.</summary>
    public static void MaxPool2x2<TAct>(Index1D i, TAct x, TAct y, GridShape s) where TAct : struct, IActivations<TAct>
    {
        int oh = s.H / 2, ow = s.W / 2, ch = i % s.C, r = i / s.C, ox = r % ow, oy = r / ow % oh, b = r / ow / oh;
        int top = ((b * s.H + 2 * oy) * s.W + 2 * ox) * s.C + ch, bottom = top + s.W * s.C;
        y.Store(i, XMath.Max(XMath.Max(x.Load(top), x.Load(top + s.C)), XMath.Max(x.Load(bottom), x.Load(bottom + s.C))));
    }

    /// <summary>y = x [B, H, W, C] + coarse [B, H/2, W/2, C] at (h/2, w/2); i runs over the output.</summary>
    public static void AddUpsampled2x<TAct>(Index1D i, TAct x, TAct coarse, TAct y, GridShape s) where TAct : struct, IActivations<TAct>
    {
        int ch = i % s.C, r = i / s.C, px = r % s.W, py = r / s.W % s.H, b = r / s.W / s.H;
        y.Store(i, x.Load(i) + coarse.Load(((b * (s.H / 2) + py / 2) * (s.W / 2) + px / 2) * s.C + ch));
    }

    /// <summary>y[i] = float(bits[i]), stored in the activation format.</summary>
    public static void Widen<TAct>(Index1D i, ArrayView<ushort> bits, TAct y) where TAct : struct, IActivations<TAct> =>
        y.Store(i, DeviceMath.HalfToFloat(bits[i]));
}

/// <summary>Loads the element-wise kernels for one activation format on one accelerator and launches them.</summary>
public sealed class ElementwiseLauncher<TAct>(Accelerator accelerator) where TAct : struct, IActivations<TAct>
{
    private readonly Lazy<Action<Index1D, TAct, TAct, TAct, int>> _add =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, TAct, TAct, int>(ElementwiseKernels.AddBroadcast));
    private readonly Lazy<Action<Index1D, TAct, TAct, int>> _act =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, TAct, int>(ElementwiseKernels.Activate));
    private readonly Lazy<Action<Index1D, TAct, TAct, int, int>> _transpose =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, TAct, int, int>(ElementwiseKernels.Transpose));
    private readonly Lazy<Action<Index1D, TAct, TAct, BlockCopy>> _copy =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, TAct, BlockCopy>(ElementwiseKernels.Copy));
    private readonly Lazy<Action<Index1D, ArrayView<ushort>, TAct>> _widen =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<ushort>, TAct>(ElementwiseKernels.Widen));

    private readonly Lazy<Action<Index1D, TAct, TAct, GridShape>> _maxPool =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, TAct, GridShape>(ElementwiseKernels.MaxPool2x2));
    private readonly Lazy<Action<Index1D, TAct, TAct, TAct, GridShape>> _addUp =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, TAct, TAct, GridShape>(ElementwiseKernels.AddUpsampled2x));

    /// <summary>y [b, h/2, w/2, c] = 2x2 max of x [b, h, w, c].</summary>
    public void MaxPool2x2(TAct x, int b, GridShape s, TAct y)
    {
        int length = b * (s.H / 2) * (s.W / 2) * s.C;
        if (length > 0) _maxPool.Value(length, x, y, s);
    }

    /// <summary>y [b, h, w, c] = x + coarse upsampled 2x (nearest).</summary>
    public void AddUpsampled2x(TAct x, TAct coarse, int b, GridShape s, TAct y)
    {
        int length = b * s.H * s.W * s.C;
        if (length > 0) _addUp.Value(length, x, coarse, y, s);
    }

    /// <summary>y = a + b over <paramref name="length"/> elements, b (<paramref name="bLength"/> elements) repeated over a.</summary>
    public void AddBroadcast(TAct a, TAct b, int length, int bLength, TAct y)
    {
        if (length > 0) _add.Value(length, a, b, y, bLength);
    }

    /// <summary>y = act(x) over <paramref name="length"/> elements.</summary>
    public void Activate(TAct x, int length, TAct y, int activation)
    {
        if (length > 0) _act.Value(length, x, y, activation);
    }

    /// <summary>[B, M, N] → [B, N, M], <paramref name="length"/> = B·M·N.</summary>
    public void Transpose(TAct x, int length, TAct y, int m, int n)
    {
        if (length > 0) _transpose.Value(length, x, y, m, n);
    }

    /// <summary>Copies <paramref name="blocks"/> blocks as <paramref name="c"/> describes.</summary>
    public void Copy(TAct src, TAct dst, int blocks, BlockCopy c)
    {
        if (blocks * c.Length > 0) _copy.Value(blocks * c.Length, src, dst, c);
    }

    /// <summary>y = float(bits).</summary>
    public void Widen(ArrayView<ushort> bits, TAct y) => _widen.Value(bits.IntLength, bits, y);
}
