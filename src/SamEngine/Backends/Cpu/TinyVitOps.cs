using System.Runtime.CompilerServices;
using SamEngine.Weights;

namespace SamEngine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>A conv with its BatchNorm folded in: the weight as a GEMM operand in fp32 and the per-channel shift.</summary>
    private sealed record FoldedConv(GemmRhs Rhs, float[] Shift);

    /// <summary>A depthwise conv with its BatchNorm folded in: taps [k·k, C] in fp32 and the per-channel shift.</summary>
    private sealed record FoldedDepthwise(float[] Taps, float[] Shift);

    private readonly ConditionalWeakTable<Parameter, FoldedConv> _foldedConv = new();
    private readonly ConditionalWeakTable<Parameter, FoldedDepthwise> _foldedDepthwise = new();
    /// <summary>TinyViT attention biases laid out as one SIMD path's score tiles.</summary>
    private readonly PerPathCache<float[]> _biasTables = new();

    /// <summary>A bottleneck's folded 1x1 conv packed for one SIMD path's GEMM.</summary>
    private readonly PerPathCache<StreamedBottleneck.PackedConv> _packedConv = new();

    /// <inheritdoc />
    public Tensor Conv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, int padding, Activation act = Activation.None, Tensor? residual = null)
    {
        var g = OpShapes.Conv2dBn(x, weight, bn, stride, padding, act, residual);
        var folded = _foldedConv.GetValue(weight, p => FoldConv(p, bn));
        var y = Convolve(Cpu(x), folded.Rhs, folded.Shift, g.KernelH, g.KernelW, stride, padding, g.OutH, g.OutW,
            residual is null ? act : Activation.None, residual is null ? null : Cpu(residual).Data);
        if (residual is not null && act != Activation.None) Elementwise.Activate(y.Data, y.Data, y.Length, act);
        return y;
    }

    /// <summary>
    /// The weight [Cout, Cin, kh, kw] times the norm's scale, columns ordered (ky, kx, ci) as the NHWC
    /// patches of <see cref="Convolve"/>, and the norm's shift as the bias.
    /// </summary>
    private static FoldedConv FoldConv(Parameter weight, BatchNorm bn)
    {
        var (scale, shift) = bn.Fold();
        int cout = weight.Shape[0], cin = weight.Shape[1], kh = weight.Shape[2], kw = weight.Shape[3], kdim = cin * kh * kw;
        var w = weight.ToFloat();
        var folded = new float[cout * kdim];
        for (int co = 0; co < cout; co++)
            for (int ci = 0; ci < cin; ci++)
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++)
                        folded[co * kdim + (ky * kw + kx) * cin + ci] = w[((co * cin + ci) * kh + ky) * kw + kx] * scale[co];
        return new FoldedConv(GemmRhs.Transposed(folded, 0, cout, kdim), shift);
    }

    /// <inheritdoc />
    public Tensor DepthwiseConv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, Activation act = Activation.None)
    {
        var (b, h, w, c, k, ho, wo) = OpShapes.DepthwiseConv2dBn(x, weight, bn, stride, act);
        var folded = _foldedDepthwise.GetValue(weight, p => FoldDepthwise(p, bn));
        var y = CpuTensor.Uninitialized(b, ho, wo, c);
        DepthwiseConv.Run(Cpu(x).Data, b, h, w, c, folded.Taps, folded.Shift, k, stride, act, y.Data, ho, wo);
        return y;
    }

    /// <summary>The weight [C, 1, k, k] times the norm's scale as taps [k·k, C], and the norm's shift.</summary>
    private static FoldedDepthwise FoldDepthwise(Parameter weight, BatchNorm bn)
    {
        var (scale, shift) = bn.Fold();
        int c = weight.Shape[0], kk = weight.Shape[2] * weight.Shape[3];
        var src = weight.ToFloat();
        var taps = new float[kk * c];
        for (int ch = 0; ch < c; ch++)
            for (int t = 0; t < kk; t++) taps[t * c + ch] = src[ch * kk + t] * scale[ch];
        return new FoldedDepthwise(taps, shift);
    }

    /// <inheritdoc />
    public Tensor InvertedBottleneck(Tensor x, InvertedBottleneckWeights w, Activation act = Activation.None, Tensor? residual = null)
    {
        var (b, h, wd, _, _, _, k, ho, wo) = OpShapes.InvertedBottleneck(x, w, act, residual);
        var path = Gemm.ActivePath;
        StreamedBottleneck.PackedConv Packed(Parameter weight, BatchNorm bn) => _packedConv.Get(weight, path, () =>
        {
            var folded = _foldedConv.GetValue(weight, p => FoldConv(p, bn));
            return new StreamedBottleneck.PackedConv(Gemm.PackedPanels(path, folded.Rhs), folded.Shift, weight.Shape[1], weight.Shape[0]);
        });
        var depthwise = _foldedDepthwise.GetValue(w.Depthwise, p => FoldDepthwise(p, w.DepthwiseBn));
        var y = CpuTensor.Uninitialized(b, ho, wo, w.Project.Shape[0]);
        StreamedBottleneck.Run(path, Cpu(x).Data, b, h, wd, Packed(w.Expand, w.ExpandBn), depthwise.Taps, depthwise.Shift, k, w.Stride,
            Packed(w.Project, w.ProjectBn), act, residual is null ? null : Cpu(residual).Data, y.Data, ho, wo);
        return y;
    }

    /// <inheritdoc />
    public Tensor TinyVitAttention(Tensor qkv, Tensor padQkv, int heads, int windowSize, Parameter attentionBiases)
    {
        var (h, w, d, _, _) = OpShapes.TinyVitAttention(qkv, padQkv, heads, windowSize, attentionBiases);
        var path = Gemm.ActivePath;
        var table = _biasTables.Get(attentionBiases, path, () => WindowAttention.BiasPanels(path, attentionBiases.ToFloat(), heads, windowSize));
        var y = CpuTensor.Uninitialized(1, h, w, heads * d);
        WindowAttention.Run(path, Cpu(qkv).Data, Cpu(padQkv).Data, h, w, heads, d, windowSize, table, y.Data);
        return y;
    }
}
