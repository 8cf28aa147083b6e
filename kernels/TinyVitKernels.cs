using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace SamEngine.Kernels;

/// <summary>A BatchNorm's fp16 parameters on the device and its epsilon.</summary>
public struct BatchNormViews
{
    /// <summary>γ, β, running mean, running variance [C].</summary>
    public ArrayView<ushort> Gamma, Beta, Mean, Var;
    /// <summary>Added to the variance.</summary>
    public float Eps;

    /// <summary>The norm of <paramref name="v"/> in channel <paramref name="c"/>, folded as torch's eval batch_norm: v · (γ / √(var + eps)) + (β - mean · scale).</summary>
    public readonly float Apply(float v, int c)
    {
        float scale = XMath.Rsqrt(DeviceMath.HalfToFloat(Var[c]) + Eps) * DeviceMath.HalfToFloat(Gamma[c]);
        return v * scale + (DeviceMath.HalfToFloat(Beta[c]) - DeviceMath.HalfToFloat(Mean[c]) * scale);
    }
}

/// <summary>Geometry of a depthwise conv (padding k/2) in NHWC, and its activation code.</summary>
public struct DepthwiseShape
{
    /// <summary>Input height, width, channels; kernel; stride; output height and width; activation (see <see cref="DeviceMath.Activate"/>).</summary>
    public int H, W, C, Kernel, Stride, OutH, OutW, Activation;
}

/// <summary>Geometry of TinyViT's window attention.</summary>
public struct WindowAttentionShape
{
    /// <summary>Grid height and width, heads, head dim, window edge.</summary>
    public int H, W, Heads, HeadDim, Window;
    /// <summary>1 / √d.</summary>
    public float Scale;
}

/// <summary>
/// The TinyViT encoder's kernels (MobileSAM): a BatchNorm epilogue after the implicit-GEMM conv (with the
/// residual and the activation), a depthwise conv with its norm, and window attention with attention
/// biases, one thread per (token, head) with an online softmax over the window's keys.
/// </summary>
public static class TinyVitKernels
{
    /// <summary>y[i] = act(bn(x[i]) + residual[i]) over NHWC rows of <paramref name="c"/> channels (no residual when <paramref name="hasResidual"/> is 0).</summary>
    public static void BatchNormEpilogue<TAct>(Index1D i, TAct x, BatchNormViews bn, TAct residual, int hasResidual, int c, int act, TAct y)
        where TAct : struct, IActivations<TAct>
    {
        float v = bn.Apply(x.Load(i), i % c);
        if (hasResidual != 0) v += residual.Load(i);
        y.Store(i, DeviceMath.Activate(v, act));
    }

    /// <summary>y[b, oy, ox, c] = act(bn(Σ x[b, oy·s - k/2 + ky, ox·s - k/2 + kx, c] · w[c, 0, ky, kx])), zero padding; i runs over y.</summary>
    public static void Depthwise<TAct>(Index1D i, TAct x, ArrayView<ushort> weight, BatchNormViews bn, DepthwiseShape s, TAct y)
        where TAct : struct, IActivations<TAct>
    {
        int c = i % s.C, pix = i / s.C, ox = pix % s.OutW, rest = pix / s.OutW, oy = rest % s.OutH, b = rest / s.OutH, pad = s.Kernel / 2;
        float acc = 0f;
        for (int ky = 0; ky < s.Kernel; ky++)
        {
            int iy = oy * s.Stride - pad + ky;
            if (iy < 0 || iy >= s.H) continue;
            for (int kx = 0; kx < s.Kernel; kx++)
            {
                int ix = ox * s.Stride - pad + kx;
                if (ix < 0 || ix >= s.W) continue;
                acc += x.Load(((b * s.H + iy) * s.W + ix) * s.C + c) * DeviceMath.HalfToFloat(weight[(c * s.Kernel + ky) * s.Kernel + kx]);
            }
        }
        y.Store(i, DeviceMath.Activate(bn.Apply(acc, c), s.Activation));
    }

    /// <summary>
    /// One (token, head) of <see cref="SamEngine.Backends.IBackend.TinyVitAttention"/>: i = token · heads + head over
    /// the real tokens; keys outside the grid read <paramref name="pad"/>.
    /// </summary>
    public static void WindowAttention<TAct>(Index1D i, TAct qkv, TAct pad, ArrayView<ushort> biases, WindowAttentionShape s, TAct y)
        where TAct : struct, IActivations<TAct>
    {
        var q = LocalMemory.Allocate<float>(AttentionKernels.MaxHeadDim);
        var acc = LocalMemory.Allocate<float>(AttentionKernels.MaxHeadDim);
        int hd = i % s.Heads, tok = i / s.Heads, qy = tok / s.W, qx = tok % s.W, d = s.HeadDim, c3 = s.Heads * 3 * d;
        int wy = qy / s.Window * s.Window, wx = qx / s.Window * s.Window, col = hd * 3 * d, t = s.Window * s.Window;
        int qi = (qy - wy) * s.Window + (qx - wx);
        for (int c = 0; c < d; c++)
        {
            q[c] = qkv.Load(tok * c3 + col + c);
            acc[c] = 0f;
        }
        float runMax = float.NegativeInfinity, sum = 0f;
        for (int kj = 0; kj < t; kj++)
        {
            int ky = wy + kj / s.Window, kx = wx + kj % s.Window;
            bool real = ky < s.H && kx < s.W;
            int kOff = real ? (ky * s.W + kx) * c3 + col : col;
            float dot = 0f;
            for (int c = 0; c < d; c++) dot += q[c] * (real ? qkv.Load(kOff + d + c) : pad.Load(kOff + d + c));
            int dy = qi / s.Window - kj / s.Window, dx = qi % s.Window - kj % s.Window;
            float score = dot * s.Scale + DeviceMath.HalfToFloat(biases[hd * t + XMath.Abs(dy) * s.Window + XMath.Abs(dx)]);
            float newMax = XMath.Max(runMax, score);
            float correction = XMath.Exp(runMax - newMax), p = XMath.Exp(score - newMax);
            sum = sum * correction + p;
            for (int c = 0; c < d; c++) acc[c] = acc[c] * correction + p * (real ? qkv.Load(kOff + 2 * d + c) : pad.Load(kOff + 2 * d + c));
            runMax = newMax;
        }
        int o = tok * s.Heads * d + hd * d;
        for (int c = 0; c < d; c++) y.Store(o + c, acc[c] / sum);
    }
}

/// <summary>Loads the TinyViT kernels for one activation format on one accelerator.</summary>
public sealed class TinyVitLauncher<TAct>(Accelerator accelerator) where TAct : struct, IActivations<TAct>
{
    private readonly Lazy<Action<Index1D, TAct, BatchNormViews, TAct, int, int, int, TAct>> _epilogue =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, BatchNormViews, TAct, int, int, int, TAct>(TinyVitKernels.BatchNormEpilogue));
    private readonly Lazy<Action<Index1D, TAct, ArrayView<ushort>, BatchNormViews, DepthwiseShape, TAct>> _depthwise =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, ArrayView<ushort>, BatchNormViews, DepthwiseShape, TAct>(TinyVitKernels.Depthwise));
    private readonly Lazy<Action<Index1D, TAct, TAct, ArrayView<ushort>, WindowAttentionShape, TAct>> _attention =
        new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, TAct, TAct, ArrayView<ushort>, WindowAttentionShape, TAct>(TinyVitKernels.WindowAttention));

    /// <summary>y = act(bn(x) + residual) over <paramref name="n"/> values of <paramref name="c"/> channels; <paramref name="residual"/> is read only when <paramref name="hasResidual"/>.</summary>
    public void BatchNormEpilogue(TAct x, int n, int c, BatchNormViews bn, TAct residual, bool hasResidual, int act, TAct y)
    {
        if (n > 0) _epilogue.Value(n, x, bn, residual, hasResidual ? 1 : 0, c, act, y);
    }

    /// <summary>The depthwise conv with its norm and activation over a batch of <paramref name="batch"/>.</summary>
    public void Depthwise(TAct x, int batch, ArrayView<ushort> weight, BatchNormViews bn, DepthwiseShape s, TAct y)
    {
        int n = batch * s.OutH * s.OutW * s.C;
        if (n > 0) _depthwise.Value(n, x, weight, bn, s, y);
    }

    /// <summary>Window attention over every real token and head.</summary>
    public void WindowAttention(TAct qkv, TAct pad, ArrayView<ushort> biases, WindowAttentionShape s, TAct y)
    {
        if (s.HeadDim > AttentionKernels.MaxHeadDim) throw new NotSupportedException($"head dim {s.HeadDim} is above {AttentionKernels.MaxHeadDim}");
        int n = s.H * s.W * s.Heads;
        if (n > 0) _attention.Value(n, qkv, pad, biases, s, y);
    }
}
