using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SamEngine.Backends;

namespace SamEngine.Kernels;

/// <summary>
/// Where the tokens of one attention problem live: a batch of GridH x GridW grids of rows with
/// <c>RowStride</c> elements each, cut into WinH x WinW windows (the last ones overhanging the grid:
/// those tokens are padding). Global attention is one window covering the grid; decoder attention is
/// a 1 x N grid per batch item.
/// </summary>
public struct TokenLayout
{
    /// <summary>Grid extent, window extent, windows per grid row, windows per batch item, row stride.</summary>
    public int GridH, GridW, WinH, WinW, WinsX, WinsPerBatch, RowStride;

    /// <summary>Tokens per window (padding included).</summary>
    public readonly int Tokens => WinH * WinW;

    /// <summary>Element offset of token <paramref name="t"/> of window <paramref name="win"/>, or -1 for a padding token.</summary>
    public readonly int Offset(int win, int t)
    {
        int b = win / WinsPerBatch, w = win - b * WinsPerBatch, wy = w / WinsX, wx = w - wy * WinsX;
        int ty = t / WinW, tx = t - ty * WinW, gy = wy * WinH + ty, gx = wx * WinW + tx;
        if (gy >= GridH || gx >= GridW) return -1;
        return ((b * GridH + gy) * GridW + gx) * RowStride;
    }

    /// <summary>A ViT grid [1, H, W, stride] in windows of <paramref name="window"/> (0: global).</summary>
    public static TokenLayout Vit(int h, int w, int window, int stride)
    {
        int wh = window > 0 ? window : h, ww = window > 0 ? window : w;
        int wx = (w + ww - 1) / ww, wy = (h + wh - 1) / wh;
        return new TokenLayout { GridH = h, GridW = w, WinH = wh, WinW = ww, WinsX = wx, WinsPerBatch = wx * wy, RowStride = stride };
    }

    /// <summary>Token rows [B, N, stride]: one 1 x N window per batch item.</summary>
    public static TokenLayout Rows(int n, int stride) =>
        new() { GridH = 1, GridW = n, WinH = 1, WinW = n, WinsX = 1, WinsPerBatch = 1, RowStride = stride };
}

/// <summary>Head geometry and scaling of one attention launch.</summary>
public struct AttentionArgs
{
    /// <summary>Head dimension; column offsets of q, k and v inside their rows (before the head offset).</summary>
    public int HeadDim, QColumn, KColumn, VColumn;
    /// <summary>1/sqrt(head dim).</summary>
    public float Scale;
    /// <summary>1: scale q before the product (ViT, with decomposed rel-pos from the unscaled q); 0: scale the product (decoder, Hiera).</summary>
    public int VitMode;
    /// <summary>
    /// 1: each query is the 2x2 maximum of q over the key window's tokens at twice its position in its
    /// query window (Hiera's pooled stage transitions); the query layout is then the pooled grid with
    /// row stride 1 (an output row index). 0: queries are read where the query layout puts them.
    /// </summary>
    public int PoolQuery;
}

/// <summary>
/// Flash-style attention, one kernel for the ViT's windowed and global blocks and the decoder's
/// attentions. A group of 64 threads takes 64 queries of one (window, head); each thread keeps its
/// query, its output accumulator and its rel-pos terms in registers / local memory, keys and values
/// stream through shared memory 16 at a time, and softmax is online, so the score matrix never
/// exists. Window partition and padding are done by indexing (<see cref="TokenLayout"/>): a padding
/// key holds the qkv bias, as upstream's zero-padded input produces.
/// </summary>
public static class AttentionKernels
{
    /// <summary>Queries per group (one per thread).</summary>
    public const int Queries = 64;
    /// <summary>Keys staged per step.</summary>
    public const int KeyTile = 16;
    /// <summary>Largest supported head dimension.</summary>
    public const int MaxHeadDim = 128;
    /// <summary>Largest supported window edge (rel-pos terms per axis).</summary>
    public const int MaxWindow = 128;

    /// <summary>Grid (query blocks, heads, windows) x group (64).</summary>
    public static void Attention<TAct>(TAct q, TAct k, TAct v, TokenLayout ql, TokenLayout kl, AttentionArgs a,
        ArrayView<ushort> padBias, ArrayView<ushort> relH, ArrayView<ushort> relW, TAct y, int yStride)
        where TAct : struct, IActivations<TAct>
    {
        var kTile = SharedMemory.Allocate<float>(KeyTile * MaxHeadDim);
        var vTile = SharedMemory.Allocate<float>(KeyTile * MaxHeadDim);
        var qv = LocalMemory.Allocate<float>(MaxHeadDim);
        var acc = LocalMemory.Allocate<float>(MaxHeadDim);
        var biasH = LocalMemory.Allocate<float>(MaxWindow);
        var biasW = LocalMemory.Allocate<float>(MaxWindow);
        int hd = a.HeadDim, head = Grid.IdxY, win = Grid.IdxZ, t = Group.IdxX;
        int qi = Grid.IdxX * Queries + t, keys = kl.Tokens;
        int qOff = qi < ql.Tokens ? ql.Offset(win, qi) : -1;
        bool active = qOff >= 0;
        int qCol = a.QColumn + head * hd, kCol = a.KColumn + head * hd, vCol = a.VColumn + head * hd;

        float postScale = a.VitMode != 0 ? 1f : a.Scale;
        if (active)
        {
            for (int d = 0; d < hd; d++)
            {
                qv[d] = a.PoolQuery != 0 ? PooledQuery(q, kl, win, qi / ql.WinW, qi % ql.WinW, padBias, qCol + d) : q.Load(qOff + qCol + d);
                acc[d] = 0f;
            }
            if (a.VitMode != 0)
            {
                // Decomposed rel-pos with the unscaled q: q · Rh[qy - ky + WinH - 1] and q · Rw[qx - kx + WinW - 1].
                int qy = qi / ql.WinW, qx = qi - qy * ql.WinW;
                for (int ky = 0; ky < kl.WinH; ky++) biasH[ky] = DotHalf(qv, relH, (qy - ky + kl.WinH - 1) * hd, hd);
                for (int kx = 0; kx < kl.WinW; kx++) biasW[kx] = DotHalf(qv, relW, (qx - kx + kl.WinW - 1) * hd, hd);
                for (int d = 0; d < hd; d++) qv[d] *= a.Scale;
            }
        }

        float runMax = -3.0e38f, runSum = 0f;
        for (int k0 = 0; k0 < keys; k0 += KeyTile)
        {
            for (int e = t; e < KeyTile * hd; e += Queries)
            {
                int j = e / hd, d = e - j * hd, key = k0 + j;
                float kvK = 0f, kvV = 0f;
                if (key < keys)
                {
                    int off = kl.Offset(win, key);
                    kvK = off >= 0 ? k.Load(off + kCol + d) : DeviceMath.HalfToFloat(padBias[kCol + d]);
                    kvV = off >= 0 ? v.Load(off + vCol + d) : DeviceMath.HalfToFloat(padBias[vCol + d]);
                }
                kTile[j * MaxHeadDim + d] = kvK;
                vTile[j * MaxHeadDim + d] = kvV;
            }
            Group.Barrier();
            if (active)
            {
                int count = XMath.Min(KeyTile, keys - k0);
                for (int j = 0; j < count; j++)
                {
                    float s = 0f;
                    for (int d = 0; d < hd; d++) s += qv[d] * kTile[j * MaxHeadDim + d];
                    s *= postScale;
                    if (a.VitMode != 0)
                    {
                        int key = k0 + j, ky = key / kl.WinW;
                        s += biasH[ky] + biasW[key - ky * kl.WinW];
                    }
                    float newMax = XMath.Max(runMax, s);
                    float correction = XMath.Exp(runMax - newMax), p = XMath.Exp(s - newMax);
                    runSum = runSum * correction + p;
                    for (int d = 0; d < hd; d++) acc[d] = acc[d] * correction + p * vTile[j * MaxHeadDim + d];
                    runMax = newMax;
                }
            }
            Group.Barrier();
        }

        if (!active) return;
        int yOff = qOff / ql.RowStride * yStride + head * hd;
        float inv = 1f / runSum;
        for (int d = 0; d < hd; d++) y.Store(yOff + d, acc[d] * inv);
    }

    /// <summary>Channel <paramref name="col"/> of q max-pooled over the 2x2 key-window tokens at (2 ty, 2 tx) of window <paramref name="win"/> (padding: the bias).</summary>
    private static float PooledQuery<TAct>(TAct q, TokenLayout kl, int win, int ty, int tx, ArrayView<ushort> padBias, int col)
        where TAct : struct, IActivations<TAct>
    {
        float m = -3.0e38f;
        for (int p = 0; p < 4; p++)
        {
            int off = kl.Offset(win, (2 * ty + p / 2) * kl.WinW + 2 * tx + p % 2);
            m = XMath.Max(m, off >= 0 ? q.Load(off + col) : DeviceMath.HalfToFloat(padBias[col]));
        }
        return m;
    }

    private static float DotHalf(ArrayView<float> a, ArrayView<ushort> table, int offset, int n)
    {
        float s = 0f;
        for (int d = 0; d < n; d++) s += a[d] * DeviceMath.HalfToFloat(table[offset + d]);
        return s;
    }

    /// <summary>Launch configuration for <paramref name="heads"/> heads over the windows of <paramref name="ql"/> and <paramref name="windows"/> windows.</summary>
    public static KernelConfig Config(TokenLayout ql, int heads, int windows) =>
        new(new Index3D((ql.Tokens + Queries - 1) / Queries, heads, windows), new Index3D(Queries, 1, 1));
}

/// <summary>Loads the attention kernel for one activation format on one accelerator and launches it.</summary>
public sealed class AttentionLauncher<TAct>(Accelerator accelerator) where TAct : struct, IActivations<TAct>
{
    private readonly Lazy<Action<KernelConfig, TAct, TAct, TAct, TokenLayout, TokenLayout, AttentionArgs,
        ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, TAct, int>> _kernel =
        new(() => accelerator.LoadStreamKernel<TAct, TAct, TAct, TokenLayout, TokenLayout, AttentionArgs,
            ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, TAct, int>(AttentionKernels.Attention));

    /// <summary>
    /// ViT attention on qkv [1, H, W, 3C] → y [1, H, W, C]: windows of <paramref name="window"/> (0 =
    /// global), padding keys from the fp16 qkv bias, rel-pos tables fp16 [2·win - 1, hd].
    /// </summary>
    public void Vit(TAct qkv, int h, int w, int c, int heads, int window, ArrayView<ushort> qkvBias, ArrayView<ushort> relH, ArrayView<ushort> relW, TAct y)
    {
        int hd = c / heads;
        Check(hd);
        var layout = TokenLayout.Vit(h, w, window, 3 * c);
        if (layout.WinH > AttentionKernels.MaxWindow || layout.WinW > AttentionKernels.MaxWindow)
            throw new NotSupportedException($"attention window {layout.WinH}x{layout.WinW} exceeds {AttentionKernels.MaxWindow}");
        var args = new AttentionArgs { HeadDim = hd, QColumn = 0, KColumn = c, VColumn = 2 * c, Scale = 1f / MathF.Sqrt(hd), VitMode = 1 };
        _kernel.Value(AttentionKernels.Config(layout, heads, layout.WinsPerBatch), qkv, qkv, qkv, layout, layout, args, qkvBias, relH, relW, y, c);
    }

    /// <summary>
    /// Hiera attention on qkv [1, H, W, 3C] → y [1, oh, ow, C] in the windows of <paramref name="g"/>
    /// (queries max-pooled 2x2 with <paramref name="poolQuery"/>), padding tokens from the fp16 qkv
    /// bias, the product scaled as scaled_dot_product_attention does.
    /// </summary>
    public void Hiera(TAct qkv, OpShapes.AttentionWindows g, int heads, bool poolQuery, ArrayView<ushort> qkvBias, TAct y)
    {
        Check(g.HeadDim);
        var keys = new TokenLayout { GridH = g.H, GridW = g.W, WinH = g.WindowH, WinW = g.WindowW, WinsX = g.WindowsX,
            WinsPerBatch = g.WindowsX * g.WindowsY, RowStride = 3 * g.C };
        var queries = poolQuery
            ? new TokenLayout { GridH = g.OutH, GridW = g.OutW, WinH = g.QueryWindowH, WinW = g.QueryWindowW, WinsX = g.WindowsX,
                WinsPerBatch = keys.WinsPerBatch, RowStride = 1 }
            : keys;
        var args = new AttentionArgs { HeadDim = g.HeadDim, QColumn = 0, KColumn = g.C, VColumn = 2 * g.C, Scale = 1f / MathF.Sqrt(g.HeadDim),
            VitMode = 0, PoolQuery = poolQuery ? 1 : 0 };
        _kernel.Value(AttentionKernels.Config(queries, heads, keys.WinsPerBatch), qkv, qkv, qkv, queries, keys, args, qkvBias, qkvBias, qkvBias, y, g.C);
    }

    /// <summary>Decoder attention: q [B, Nq, C], k and v [B, Nk, C] → y [B, Nq, C].</summary>
    public void Rows(TAct q, TAct k, TAct v, int batch, int nq, int nk, int c, int heads, ArrayView<ushort> unused, TAct y)
    {
        int hd = c / heads;
        Check(hd);
        var ql = TokenLayout.Rows(nq, c);
        var kl = TokenLayout.Rows(nk, c);
        var args = new AttentionArgs { HeadDim = hd, Scale = 1f / MathF.Sqrt(hd), VitMode = 0 };
        _kernel.Value(AttentionKernels.Config(ql, heads, batch), q, k, v, ql, kl, args, unused, unused, unused, y, c);
    }

    private static void Check(int hd)
    {
        if (hd > AttentionKernels.MaxHeadDim) throw new NotSupportedException($"head dim {hd} exceeds {AttentionKernels.MaxHeadDim}");
    }
}
