using SamEngine.Weights;

namespace SamEngine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>Floats of im2col patches gathered per GEMM (8 MB).</summary>
    internal const int PatchBandFloats = 1 << 21;

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Parameter, GemmRhs> _convRhs = new();
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Parameter, float[]> _convTBias = new(); // bias repeated for the 4 kernel taps

    /// <inheritdoc />
    public Tensor Conv2d(Tensor x, Parameter weight, Parameter? bias, int stride, int padding)
    {
        var (b, h, w, cin, cout, kh, kw, ho, wo) = OpShapes.Conv2d(x, weight, bias, stride, padding);
        int kdim = kh * kw * cin;
        // Weight columns ordered (ky, kx, ci) to match the NHWC patches below; kept fp16. A 1x1
        // kernel is already in that order and is read in place.
        var rhs = _convRhs.GetValue(weight, p =>
        {
            if (kh * kw == 1) return GemmRhs.TransposedHalf(p.Bits, cout, kdim);
            var src = p.HalfBits;
            var reordered = new ushort[cout * kdim];
            for (int co = 0; co < cout; co++)
                for (int ci = 0; ci < cin; ci++)
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                            reordered[co * kdim + (ky * kw + kx) * cin + ci] = src[((co * cin + ci) * kh + ky) * kw + kx];
            return GemmRhs.TransposedHalf(reordered, cout, kdim);
        });
        return Convolve(Cpu(x), rhs, bias is null ? null : Floats(bias), kh, kw, stride, padding, ho, wo);
    }

    /// <summary>
    /// y = act(conv(x) + bias) + residual in NHWC with the weight as a GEMM operand [(ky, kx, ci), Cout]:
    /// a 1x1 stride-1 kernel multiplies x in place, others go through im2col.
    /// </summary>
    private static CpuTensor Convolve(CpuTensor x, GemmRhs rhs, float[]? bias, int kh, int kw, int stride, int padding, int ho, int wo,
        Activation act = Activation.None, float[]? residual = null)
    {
        int b = x.Dim(0), h = x.Dim(1), w = x.Dim(2), cin = x.Dim(3), cout = rhs.N, kdim = kh * kw * cin;
        var xd = x.Data;
        var y = CpuTensor.Uninitialized(b, ho, wo, cout);
        if (kh * kw == 1 && stride == 1 && padding == 0)
        {
            Gemm.Multiply(b * h * w, xd, 0, rhs, y.Data, 0, bias, act, residual: residual);
            return y;
        }
        // im2col in bands of output rows, each band's patches [rows · Wo, kh · kw · Cin] multiplied at
        // once: the patch buffer stays a few MB (one im2col of the ViT-H neck's 3x3 conv is 38 MB).
        int bandRows = Math.Clamp(PatchBandFloats / (wo * kdim), 1, ho);
        var patches = HostBufferPool.Shared.Rent(bandRows * wo * kdim); // every element is written below
        for (int bi = 0; bi < b; bi++)
            for (int oy0 = 0; oy0 < ho; oy0 += bandRows)
            {
                int rows = Math.Min(bandRows, ho - oy0);
                CpuParallel.For(0, rows, r =>
                {
                    int oy = oy0 + r;
                    for (int ox = 0; ox < wo; ox++)
                    {
                        int dst = (r * wo + ox) * kdim;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = oy * stride - padding + ky, ix0 = ox * stride - padding;
                            if (iy >= 0 && iy < h && ix0 >= 0 && ix0 + kw <= w)
                            {
                                // The kw taps of a row inside the image are adjacent pixels: one copy (the
                                // stem's 3-channel conv otherwise made a call per 3 floats).
                                xd.AsSpan(((bi * h + iy) * w + ix0) * cin, kw * cin).CopyTo(patches.AsSpan(dst + ky * kw * cin, kw * cin));
                                continue;
                            }
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ox * stride - padding + kx, d = dst + (ky * kw + kx) * cin;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) Array.Clear(patches, d, cin);
                                else Array.Copy(xd, ((bi * h + iy) * w + ix) * cin, patches, d, cin);
                            }
                        }
                    }
                });
                Gemm.Multiply(rows * wo, patches, 0, rhs, y.Data, (bi * ho + oy0) * wo * cout, bias, act);
            }
        HostBufferPool.Shared.Return(patches);
        // The GEMM's residual is indexed from the first row of each call: added once here instead.
        if (residual is not null) Elementwise.AddBroadcast(y.Data, residual, y.Length, y.Data, y.Length);
        return y;
    }

    /// <inheritdoc />
    public Tensor ConvTranspose2x2(Tensor x, Parameter weight, Parameter bias, ChannelNorm? norm = null, Activation act = Activation.None)
    {
        var (b, h, w, cin, cout) = OpShapes.ConvTranspose2x2(x, weight, bias, norm, act);
        int pixels = b * h * w;
        var tmp = HostBufferPool.Shared.Rent(pixels * 4 * cout);
        Gemm.Multiply(pixels, Cpu(x).Data, 0, ConvTransposeRhs(weight), tmp, 0, ConvTransposeBias(bias));
        var y = CpuTensor.Uninitialized(b, 2 * h, 2 * w, cout);
        // A pixel's (dy, 0) and (dy, 1) outputs are adjacent in both tmp and y: one copy of 2·Cout each.
        Elementwise.ForRanges(b * h, Math.Max(1, Elementwise.ParallelGrain / (8 * w * cout)), (r0, r1) =>
        {
            for (int row = r0; row < r1; row++)
            {
                int bi = row / h, yy = row % h;
                for (int dy = 0; dy < 2; dy++)
                    for (int xx = 0; xx < w; xx++)
                        Array.Copy(tmp, ((row * w + xx) * 4 + 2 * dy) * cout,
                            y.Data, ((bi * 2 * h + 2 * yy + dy) * 2 * w + 2 * xx) * cout, 2 * cout);
            }
        });
        HostBufferPool.Shared.Return(tmp);
        // The fused LayerNorm2d and activation, in place.
        if (norm is not null) Elementwise.LayerNorm(y.Data, y.Data, y.Length / cout, cout, Floats(norm.Weight), Floats(norm.Bias), norm.Eps);
        if (act != Activation.None) Elementwise.Activate(y.Data, y.Data, y.Length, act);
        return y;
    }

    /// <summary>
    /// A 2x2 transposed conv's weight [Cin, Cout, 2, 2] as a GEMM operand [Cin, (dy, dx, co)]: one input
    /// pixel times it gives its four output pixels, each Cout wide. Small (decoder only), so the
    /// reordered fp32 copy is the one kept.
    /// </summary>
    internal GemmRhs ConvTransposeRhs(Parameter weight) => _convRhs.GetValue(weight, p =>
    {
        int cin = p.Shape[0], cout = p.Shape[1];
        var src = p.ToFloat();
        var m = new float[cin * 4 * cout];
        for (int ci = 0; ci < cin; ci++)
            for (int co = 0; co < cout; co++)
                for (int k = 0; k < 4; k++)
                    m[ci * 4 * cout + k * cout + co] = src[(ci * cout + co) * 4 + k];
        return GemmRhs.Plain(m, 0, cin, 4 * cout);
    });

    /// <summary>The bias repeated for the four output pixels of <see cref="ConvTransposeRhs"/>.</summary>
    internal float[] ConvTransposeBias(Parameter bias) => _convTBias.GetValue(bias, p => Enumerable.Repeat(p.ToFloat(), 4).SelectMany(v => v).ToArray());
}
