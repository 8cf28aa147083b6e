using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Reference;

/// <summary>A host tensor of the reference: float32 values, row-major, and their shape.</summary>
internal sealed record HostTensor(float[] Data, int[] Shape)
{
    public int Dim(int i) => Shape[i < 0 ? Shape.Length + i : i];

    public override string ToString() => $"HostTensor{ShapeUtil.Format(Shape)}";
}

/// <summary>
/// The plain specification of every <see cref="IBackend"/> op: scalar loops over the documented
/// layouts, sums in double, each output rounded to float32 once. Nothing here is tuned; every
/// backend's fast paths are checked against these (<see cref="BackendOpReferenceTests"/>).
/// Parameters are read as float32 (fp16 widens exactly), as the backends read them.
/// </summary>
internal static class OpReference
{
    /// <summary>act(x Wᵀ + b) + residual: x [..., K], W [N, K], b [N], residual [..., N] → [..., N].</summary>
    public static HostTensor Linear(HostTensor x, Parameter weight, Parameter? bias, Activation act, HostTensor? residual)
    {
        float[] w = weight.ToFloat(), b = bias?.ToFloat() ?? new float[weight.Shape[0]];
        int n = weight.Shape[0], k = weight.Shape[1], m = x.Data.Length / k;
        var y = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = b[j];
                for (int kk = 0; kk < k; kk++) s += (double)x.Data[i * k + kk] * w[j * k + kk];
                double v = Activate(s, act);
                if (residual is not null) v += residual.Data[i * n + j];
                y[i * n + j] = (float)v;
            }
        return new HostTensor(y, [.. x.Shape[..^1], n]);
    }

    /// <summary>a [B, M, K] times b [B, N, K]ᵀ → [B, M, N].</summary>
    public static HostTensor MatMulTransposed(HostTensor a, HostTensor b)
    {
        int batch = a.Dim(0), m = a.Dim(1), k = a.Dim(2), n = b.Dim(1);
        var y = new float[batch * m * n];
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int kk = 0; kk < k; kk++) s += (double)a.Data[(bi * m + i) * k + kk] * b.Data[(bi * n + j) * k + kk];
                    y[(bi * m + i) * n + j] = (float)s;
                }
        return new HostTensor(y, [batch, m, n]);
    }

    /// <summary>a + b, b [suffix of a's shape] repeated over a's leading dimensions.</summary>
    public static HostTensor Add(HostTensor a, HostTensor b)
    {
        var y = new float[a.Data.Length];
        for (int i = 0; i < y.Length; i++) y[i] = (float)((double)a.Data[i] + b.Data[i % b.Data.Length]);
        return a with { Data = y };
    }

    /// <summary>
    /// LayerNorm over the last dimension C of x [..., C] (or of x + residual, broadcast as in
    /// <see cref="Add"/>): (v - mean) / sqrt(biased var + eps) · γ + β.
    /// </summary>
    public static HostTensor LayerNorm(HostTensor x, Parameter weight, Parameter bias, float eps, HostTensor? residual = null)
    {
        var input = residual is null ? x : Add(x, residual);
        float[] g = weight.ToFloat(), b = bias.ToFloat();
        int c = x.Dim(-1), rows = x.Data.Length / c;
        var y = new float[x.Data.Length];
        for (int r = 0; r < rows; r++)
        {
            double mean = 0, var = 0;
            for (int i = 0; i < c; i++) mean += input.Data[r * c + i];
            mean /= c;
            for (int i = 0; i < c; i++) var += Math.Pow(input.Data[r * c + i] - mean, 2);
            double rstd = 1 / Math.Sqrt(var / c + eps);
            for (int i = 0; i < c; i++) y[r * c + i] = (float)((input.Data[r * c + i] - mean) * rstd * g[i] + b[i]);
        }
        return x with { Data = y };
    }

    /// <summary>The activation of every element.</summary>
    public static HostTensor Activate(HostTensor x, Activation act) => x with { Data = x.Data.Select(v => (float)Activate(v, act)).ToArray() };

    /// <summary>GELU exactly (0.5 v (1 + erf(v / √2)), erf in double from <see cref="MathUtil.Erf"/>), or ReLU, or identity.</summary>
    public static double Activate(double v, Activation act) => act switch
    {
        Activation.Gelu => 0.5 * v * (1 + MathUtil.Erf(v / Math.Sqrt(2))),
        Activation.Relu => Math.Max(v, 0),
        _ => v,
    };

    /// <summary>Convolution in NHWC: x [B, H, W, Cin], weight [Cout, Cin, kh, kw], bias [Cout] → [B, Ho, Wo, Cout], zero padding.</summary>
    public static HostTensor Conv2d(HostTensor x, Parameter weight, Parameter? bias, int stride, int padding)
    {
        int batch = x.Dim(0), h = x.Dim(1), w = x.Dim(2), cin = x.Dim(3);
        int cout = weight.Shape[0], kh = weight.Shape[2], kw = weight.Shape[3];
        int ho = (h + 2 * padding - kh) / stride + 1, wo = (w + 2 * padding - kw) / stride + 1;
        float[] wt = weight.ToFloat(), b = bias?.ToFloat() ?? new float[cout];
        var y = new float[batch * ho * wo * cout];
        for (int bi = 0; bi < batch; bi++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int co = 0; co < cout; co++)
                    {
                        double s = b[co];
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int iy = oy * stride - padding + ky, ix = ox * stride - padding + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                for (int ci = 0; ci < cin; ci++)
                                    s += (double)x.Data[((bi * h + iy) * w + ix) * cin + ci] * wt[((co * cin + ci) * kh + ky) * kw + kx];
                            }
                        y[((bi * ho + oy) * wo + ox) * cout + co] = (float)s;
                    }
        return new HostTensor(y, [batch, ho, wo, cout]);
    }

    /// <summary>
    /// Transposed conv, kernel 2, stride 2, NHWC: x [B, H, W, Cin], weight [Cin, Cout, 2, 2], bias [Cout]
    /// → [B, 2H, 2W, Cout], output pixel (2y + dy, 2x + dx) = Σ_ci x[y, x, ci] · w[ci, co, dy, dx] + b;
    /// then the LayerNorm2d over Cout, then the activation.
    /// </summary>
    public static HostTensor ConvTranspose2x2(HostTensor x, Parameter weight, Parameter bias, ChannelNorm? norm, Activation act)
    {
        int batch = x.Dim(0), h = x.Dim(1), w = x.Dim(2), cin = x.Dim(3), cout = weight.Shape[1];
        float[] wt = weight.ToFloat(), b = bias.ToFloat();
        var y = new float[batch * 2 * h * 2 * w * cout];
        for (int bi = 0; bi < batch; bi++)
            for (int oy = 0; oy < 2 * h; oy++)
                for (int ox = 0; ox < 2 * w; ox++)
                    for (int co = 0; co < cout; co++)
                    {
                        int iy = oy / 2, ix = ox / 2, dy = oy % 2, dx = ox % 2;
                        double s = b[co];
                        for (int ci = 0; ci < cin; ci++)
                            s += (double)x.Data[((bi * h + iy) * w + ix) * cin + ci] * wt[((ci * cout + co) * 2 + dy) * 2 + dx];
                        y[((bi * 2 * h + oy) * 2 * w + ox) * cout + co] = (float)s;
                    }
        var up = new HostTensor(y, [batch, 2 * h, 2 * w, cout]);
        if (norm is not null) up = LayerNorm(up, norm.Weight, norm.Bias, norm.Eps);
        return Activate(up, act);
    }

    /// <summary>ViT attention on qkv [1, H, W, 3C] → [1, H, W, C]: <see cref="AttentionReference.Vit"/>.</summary>
    public static HostTensor VitAttention(HostTensor qkv, int heads, int windowSize, Parameter relPosH, Parameter relPosW, Parameter qkvBias)
    {
        int h = qkv.Dim(1), w = qkv.Dim(2), c = qkv.Dim(3) / 3;
        return new HostTensor(AttentionReference.Vit(qkv.Data, h, w, heads, windowSize, relPosH.ToFloat(), relPosW.ToFloat(), qkvBias.ToFloat()), [1, h, w, c]);
    }

    /// <summary>softmax(q_h k_hᵀ / √d) v_h per head h: q [B, Nq, C], k and v [B, Nk, C] → [B, Nq, C].</summary>
    public static HostTensor Attention(HostTensor q, HostTensor k, HostTensor v, int heads)
    {
        int batch = q.Dim(0), nq = q.Dim(1), c = q.Dim(2), nk = k.Dim(1), hd = c / heads;
        var y = new float[batch * nq * c];
        for (int bi = 0; bi < batch; bi++)
            for (int head = 0; head < heads; head++)
            {
                var o = AttentionReference.Attend(Head(q, bi, head, hd), Head(k, bi, head, hd), Head(v, bi, head, hd), nq, nk, hd,
                    1f / MathF.Sqrt(hd), scaleQueryFirst: false, relPos: null);
                for (int i = 0; i < nq; i++) Array.Copy(o, i * hd, y, (bi * nq + i) * c + head * hd, hd);
            }
        return new HostTensor(y, [batch, nq, c]);
    }

    /// <summary>Batch <paramref name="bi"/>'s rows of one head's channels [N, hd] from x [B, N, C].</summary>
    private static float[] Head(HostTensor x, int bi, int head, int hd)
    {
        int n = x.Dim(1), c = x.Dim(2);
        var r = new float[n * hd];
        for (int i = 0; i < n; i++) Array.Copy(x.Data, (bi * n + i) * c + head * hd, r, i * hd, hd);
        return r;
    }

    /// <summary>[B, M, N] → [B, N, M].</summary>
    public static HostTensor Transpose(HostTensor x)
    {
        int batch = x.Dim(0), m = x.Dim(1), n = x.Dim(2);
        var y = new float[x.Data.Length];
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) y[(bi * n + j) * m + i] = x.Data[(bi * m + i) * n + j];
        return new HostTensor(y, [batch, n, m]);
    }

    /// <summary>Parts [B, N_i, C] → [B, ΣN_i, C].</summary>
    public static HostTensor ConcatRows(params HostTensor[] parts)
    {
        int batch = parts[0].Dim(0), c = parts[0].Dim(2), rows = parts.Sum(p => p.Dim(1));
        var y = new List<float>();
        for (int bi = 0; bi < batch; bi++)
            foreach (var p in parts)
                for (int i = 0; i < p.Dim(1); i++)
                    for (int ch = 0; ch < c; ch++) y.Add(p.Data[(bi * p.Dim(1) + i) * c + ch]);
        return new HostTensor([.. y], [batch, rows, c]);
    }

    /// <summary>Rows [start, start + count) of dimension 1 of x [B, N, ...] → [B, count, ...].</summary>
    public static HostTensor SliceRows(HostTensor x, int start, int count)
    {
        int batch = x.Dim(0), n = x.Dim(1), row = x.Data.Length / (batch * n);
        var y = new List<float>();
        for (int bi = 0; bi < batch; bi++)
            for (int i = start; i < start + count; i++)
                for (int e = 0; e < row; e++) y.Add(x.Data[(bi * n + i) * row + e]);
        return new HostTensor([.. y], [batch, count, .. x.Shape[2..]]);
    }

    /// <summary>
    /// Random-Fourier features of the grid's cell centres, as upstream's <c>PositionEmbeddingRandom</c>:
    /// for cell (y, x), p = 2π (2 ((x + 0.5) / g, (y + 0.5) / g) - 1) G with G [2, D/2], features
    /// [sin p, cos p] → [g·g, D], row-major over (y, x).
    /// </summary>
    public static HostTensor DensePositionalEncoding(Parameter gaussian, int grid)
    {
        var gm = gaussian.ToFloat();
        int half = gaussian.Shape[1], d = 2 * half;
        var y = new float[grid * grid * d];
        for (int gy = 0; gy < grid; gy++)
            for (int gx = 0; gx < grid; gx++)
            {
                double cx = 2 * ((gx + 0.5) / grid) - 1, cy = 2 * ((gy + 0.5) / grid) - 1;
                for (int j = 0; j < half; j++)
                {
                    double p = 2 * Math.PI * (cx * gm[j] + cy * gm[half + j]);
                    y[(gy * grid + gx) * d + j] = (float)Math.Sin(p);
                    y[(gy * grid + gx) * d + half + j] = (float)Math.Cos(p);
                }
            }
        return new HostTensor(y, [grid * grid, d]);
    }

    /// <summary>
    /// Image→token attention as upstream writes it: queries = image projected by qWeight, qBias (or the
    /// image itself), a batch-1 image shared by every prompt; <see cref="Attention"/> over the tokens
    /// k, v [B, T, C]; the output projection → [B, N, D].
    /// </summary>
    public static HostTensor ImageToTokenAttention(HostTensor image, Parameter? qWeight, Parameter? qBias, HostTensor k, HostTensor v, int heads,
        Parameter outWeight, Parameter outBias)
    {
        var q = Repeat(qWeight is null ? image : Linear(image, qWeight, qBias, Activation.None, null), k.Dim(0));
        return Linear(Attention(q, k, v, heads), outWeight, outBias, Activation.None, null);
    }

    /// <summary>
    /// Token→image attention as upstream writes it: keys and values [1 or B, N, Din] projected (or
    /// taken as they are), a batch-1 side shared by every prompt; <see cref="Attention"/> of the tokens q
    /// [B, T, C] over them → [B, T, C].
    /// </summary>
    public static HostTensor TokenToImageAttention(HostTensor q, HostTensor keys, Parameter? kWeight, Parameter? kBias,
        HostTensor values, Parameter? vWeight, Parameter? vBias, int heads)
    {
        int b = q.Dim(0);
        var k = Repeat(kWeight is null ? keys : Linear(keys, kWeight, kBias, Activation.None, null), b);
        var v = Repeat(vWeight is null ? values : Linear(values, vWeight, vBias, Activation.None, null), b);
        return Attention(q, k, v, heads);
    }

    /// <summary>
    /// Upstream's output upscaling then the mask product: x [B, g, g, D] → ConvTranspose2x2 →
    /// LayerNorm2d → GELU → ConvTranspose2x2 → GELU = [B, 4g, 4g, C], each position dotted with each
    /// row of hyper [B, M, C] → [B, M, 16 g·g]. SAM 2.1's skips, when given, are added as upstream's
    /// <c>act1(ln1(dc1(src) + feat_s1))</c>, <c>act2(dc2(.) + feat_s0)</c>, each [1, ...] broadcast over B.
    /// </summary>
    public static HostTensor UpscaledMaskLogits(HostTensor x, UpscalingWeights w, HostTensor hyper, HostTensor? featS1 = null, HostTensor? featS0 = null)
    {
        var dc1 = ConvTranspose2x2(x, w.Conv1Weight, w.Conv1Bias, null, Activation.None);
        var up0 = Activate(LayerNorm(dc1, w.NormWeight, w.NormBias, w.NormEps, featS1 is null ? null : Batchless(featS1)), Activation.Gelu);
        var dc2 = ConvTranspose2x2(up0, w.Conv2Weight, w.Conv2Bias, null, Activation.None);
        var up1 = Activate(featS0 is null ? dc2 : Add(dc2, Batchless(featS0)), Activation.Gelu);
        int b = up1.Dim(0), side = up1.Dim(1), c = up1.Dim(3);
        return MatMulTransposed(hyper, new HostTensor(up1.Data, [b, side * side, c]));
    }

    /// <summary>[1, ...] as [...], to broadcast over a batch.</summary>
    private static HostTensor Batchless(HostTensor x) => new(x.Data, x.Shape[1..]);

    /// <summary>
    /// Hiera's attention as upstream's <c>MultiScaleBlock</c> and <c>MultiScaleAttention</c> write it, on
    /// qkv [1, H, W, 3C]: zero-pad the input to whole windows (its qkv is then the bias) and partition;
    /// per window and head, q max-pooled 2x2 (floor) when <paramref name="poolQuery"/>, softmax(q kᵀ /
    /// √d) v; unpartition the (halved) windows over the grid padded from the pooled size H/2 x W/2 and
    /// crop to it. Window 0: the whole grid is one window. → [1, H', W', C].
    /// </summary>
    public static HostTensor HieraAttention(HostTensor qkv, int heads, int windowSize, bool poolQuery, Parameter qkvBias)
    {
        var bias = qkvBias.ToFloat();
        int h = qkv.Dim(1), w = qkv.Dim(2), c3 = qkv.Dim(3), c = c3 / 3, hd = c / heads;
        int wh = windowSize > 0 ? windowSize : h, ww = windowSize > 0 ? windowSize : w;
        int hp = (h + wh - 1) / wh * wh, wp = (w + ww - 1) / ww * ww, nwx = wp / ww, windows = hp / wh * nwx;
        // Upstream's sizes after the block: the shortcut's (pooled) grid, the halved window, its padded grid.
        int oh = poolQuery ? h / 2 : h, ow = poolQuery ? w / 2 : w, qh = poolQuery ? wh / 2 : wh, qw = poolQuery ? ww / 2 : ww;
        int ohp = (oh + qh - 1) / qh * qh, owp = (ow + qw - 1) / qw * qw, onwx = owp / qw;
        var padded = new float[ohp * owp * c];
        for (int n = 0; n < windows; n++)
        {
            int wy = n / nwx, wx = n % nwx;
            for (int head = 0; head < heads; head++)
            {
                // [wh, ww, hd] of q, k and v in window n; padded tokens hold the bias.
                float[] Part(int part)
                {
                    var r = new float[wh * ww * hd];
                    for (int ty = 0; ty < wh; ty++)
                        for (int tx = 0; tx < ww; tx++)
                            for (int e = 0; e < hd; e++)
                            {
                                int gy = wy * wh + ty, gx = wx * ww + tx, ch = part * c + head * hd + e;
                                r[(ty * ww + tx) * hd + e] = gy < h && gx < w ? qkv.Data[(gy * w + gx) * c3 + ch] : bias[ch];
                            }
                    return r;
                }
                float[] q = Part(0), k = Part(1), v = Part(2);
                if (poolQuery)
                {
                    var pooled = new float[qh * qw * hd];
                    for (int y = 0; y < qh; y++)
                        for (int x = 0; x < qw; x++)
                            for (int e = 0; e < hd; e++)
                            {
                                float m = float.NegativeInfinity;
                                for (int dy = 0; dy < 2; dy++)
                                    for (int dx = 0; dx < 2; dx++) m = Math.Max(m, q[((2 * y + dy) * ww + 2 * x + dx) * hd + e]);
                                pooled[(y * qw + x) * hd + e] = m;
                            }
                    q = pooled;
                }
                var o = AttentionReference.Attend(q, k, v, qh * qw, wh * ww, hd, 1f / MathF.Sqrt(hd), scaleQueryFirst: false, relPos: null);
                int oy0 = n / onwx * qh, ox0 = n % onwx * qw;
                for (int t = 0; t < qh * qw; t++)
                    Array.Copy(o, t * hd, padded, ((oy0 + t / qw) * owp + ox0 + t % qw) * c + head * hd, hd);
            }
        }
        var y2 = new float[oh * ow * c];
        for (int y = 0; y < oh; y++) Array.Copy(padded, y * owp * c, y2, y * ow * c, ow * c);
        return new HostTensor(y2, [1, oh, ow, c]);
    }

    /// <summary>nn.MaxPool2d(2, 2) over the channels-last grid: [B, H, W, C] → [B, H/2, W/2, C].</summary>
    public static HostTensor MaxPool2x2(HostTensor x)
    {
        int b = x.Dim(0), h = x.Dim(1), w = x.Dim(2), c = x.Dim(3), oh = h / 2, ow = w / 2;
        var y = new float[b * oh * ow * c];
        for (int bi = 0; bi < b; bi++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        float m = float.NegativeInfinity;
                        for (int dy = 0; dy < 2; dy++)
                            for (int dx = 0; dx < 2; dx++) m = Math.Max(m, x.Data[((bi * h + 2 * i + dy) * w + 2 * j + dx) * c + ch]);
                        y[((bi * oh + i) * ow + j) * c + ch] = m;
                    }
        return new HostTensor(y, [b, oh, ow, c]);
    }

    /// <summary>x + F.interpolate(coarse, scale_factor=2, mode="nearest"): output pixel (i, j) takes coarse (⌊i/2⌋, ⌊j/2⌋).</summary>
    public static HostTensor AddUpsampled2x(HostTensor x, HostTensor coarse)
    {
        int b = x.Dim(0), h = x.Dim(1), w = x.Dim(2), c = x.Dim(3);
        var y = new float[x.Data.Length];
        for (int bi = 0; bi < b; bi++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        int at = ((bi * h + i) * w + j) * c + ch;
                        y[at] = x.Data[at] + coarse.Data[((bi * (h / 2) + i / 2) * (w / 2) + j / 2) * c + ch];
                    }
        return x with { Data = y };
    }

    /// <summary>x [1 or B, ...] as [B, ...] (a batch-1 tensor repeated).</summary>
    private static HostTensor Repeat(HostTensor x, int b) =>
        x.Dim(0) == b ? x : new HostTensor(Enumerable.Repeat(x.Data, b).SelectMany(d => d).ToArray(), [b, .. x.Shape[1..]]);

    /// <summary>
    /// act(bn(conv(x)) + residual): <see cref="Conv2d"/> without bias, then eval-mode BatchNorm per output
    /// channel as torch defines it, (y - mean) / sqrt(var + eps) · γ + β, then the residual and activation.
    /// </summary>
    public static HostTensor Conv2dBn(HostTensor x, Parameter weight, BatchNorm bn, int stride, int padding, Activation act, HostTensor? residual)
    {
        var y = Conv2d(x, weight, null, stride, padding);
        return Normed(y, bn, act, residual);
    }

    /// <summary>
    /// Depthwise conv (groups = C, padding k/2) in NHWC, weight [C, 1, k, k], then BatchNorm and the activation.
    /// </summary>
    public static HostTensor DepthwiseConv2dBn(HostTensor x, Parameter weight, BatchNorm bn, int stride, Activation act)
    {
        int batch = x.Dim(0), h = x.Dim(1), w = x.Dim(2), c = x.Dim(3), k = weight.Shape[2], pad = k / 2;
        int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
        var wt = weight.ToFloat();
        var y = new float[batch * ho * wo * c];
        for (int bi = 0; bi < batch; bi++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        double s = 0;
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                            {
                                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < w) s += (double)x.Data[((bi * h + iy) * w + ix) * c + ch] * wt[(ch * k + ky) * k + kx];
                            }
                        y[((bi * ho + oy) * wo + ox) * c + ch] = (float)s;
                    }
        return Normed(new HostTensor(y, [batch, ho, wo, c]), bn, act, null);
    }

    private static HostTensor Normed(HostTensor y, BatchNorm bn, Activation act, HostTensor? residual)
    {
        float[] g = bn.Weight.ToFloat(), b = bn.Bias.ToFloat(), m = bn.RunningMean.ToFloat(), v = bn.RunningVar.ToFloat();
        int c = y.Dim(-1);
        var r = new float[y.Data.Length];
        for (int i = 0; i < r.Length; i++)
        {
            int ch = i % c;
            double n = (y.Data[i] - (double)m[ch]) / Math.Sqrt((double)v[ch] + bn.Eps) * g[ch] + b[ch];
            if (residual is not null) n += residual.Data[i];
            r[i] = (float)Activate(n, act);
        }
        return y with { Data = r };
    }

    /// <summary>
    /// TinyViT's window attention as upstream writes it: pad the grid (bottom, right) to whole windows
    /// with tokens whose qkv is <paramref name="padQkv"/>, split q, k, v per head from (q, k, v) groups,
    /// softmax(q kᵀ / √d + B[head, |Δy|·w + |Δx|]) v inside each window, crop → [1, H, W, heads·d].
    /// </summary>
    public static HostTensor TinyVitAttention(HostTensor qkv, HostTensor padQkv, int heads, int window, Parameter attentionBiases)
    {
        int h = qkv.Dim(1), w = qkv.Dim(2), c3 = qkv.Dim(3), d = c3 / (3 * heads), t = window * window;
        int ph = (h + window - 1) / window * window, pw = (w + window - 1) / window * window;
        var bias = attentionBiases.ToFloat();
        float Get(int yy, int xx, int i) => yy < h && xx < w ? qkv.Data[(yy * w + xx) * c3 + i] : padQkv.Data[i];
        var y = new float[h * w * heads * d];
        var p = new double[t];
        for (int wy = 0; wy < ph; wy += window)
            for (int wx = 0; wx < pw; wx += window)
                for (int hd = 0; hd < heads; hd++)
                    for (int qi = 0; qi < t; qi++)
                    {
                        int qy = wy + qi / window, qx = wx + qi % window;
                        if (qy >= h || qx >= w) continue;
                        double max = double.NegativeInfinity;
                        for (int kj = 0; kj < t; kj++)
                        {
                            int ky = wy + kj / window, kx = wx + kj % window;
                            double s = 0;
                            for (int c = 0; c < d; c++) s += (double)Get(qy, qx, hd * 3 * d + c) * Get(ky, kx, hd * 3 * d + d + c);
                            p[kj] = s / Math.Sqrt(d) + bias[hd * t + Math.Abs(qi / window - kj / window) * window + Math.Abs(qi % window - kj % window)];
                            max = Math.Max(max, p[kj]);
                        }
                        double sum = 0;
                        for (int kj = 0; kj < t; kj++) sum += p[kj] = Math.Exp(p[kj] - max);
                        for (int c = 0; c < d; c++)
                        {
                            double o = 0;
                            for (int kj = 0; kj < t; kj++) o += p[kj] * Get(wy + kj / window, wx + kj % window, hd * 3 * d + 2 * d + c);
                            y[(qy * w + qx) * heads * d + hd * d + c] = (float)(o / sum);
                        }
                    }
        return new HostTensor(y, [1, h, w, heads * d]);
    }
}
