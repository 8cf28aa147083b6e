using SamEngine.Backends;
using SamEngine.Kernels;
using SamEngine.Tests.Backends.Reference;
using SamEngine.Tests.Kernels;
using Xunit.Sdk;

namespace SamEngine.Tests.Backends;

/// <summary>
/// Every <see cref="IBackend"/> op, on every backend, against its plain scalar definition in
/// <see cref="OpReference"/>, on awkward shapes (odd widths, ragged SIMD tails, padded windows, shared
/// and per-prompt image sides) that also take the CPU backend down each of its paths (few-row and
/// packed GEMM, short-side and tiled attention, folded and composed cross attention, 1x1 and im2col
/// convolution). Shapes stay tiny: ILGPU's CPU accelerator runs each GPU thread as an OS thread.
/// </summary>
/// <remarks>
/// Tolerance, elementwise: |actual - reference| ≤ 1e-5 + 1e-4 |reference|. The backends compute in
/// float32 with reordered sums of at most a few hundred terms and vector exp/erf approximations (relative
/// error below 1e-6), which stays an order of magnitude inside it; a wrong formula (a tanh GELU, a
/// missing scale, a transposed tap) is off by 1e-3 or more.
/// </remarks>
public abstract class BackendOpReferenceTests : BackendTestBase
{
    private const float Atol = 1e-5f, Rtol = 1e-4f;

    private static HostTensor H(int seed, params int[] shape) => new(Values(seed, SamEngine.Weights.ShapeUtil.Count(shape)), shape);

    private Tensor D(HostTensor h) => Backend.FromHost(h.Data, h.Shape);

    /// <summary>(name, the op on the backend, its reference).</summary>
    private IEnumerable<(string Name, Func<Tensor> Op, Func<HostTensor> Reference)> Cases()
    {
        var be = Backend;

        // Linear: packed GEMM (74 rows) with bias, GELU and residual; few rows with ReLU; a narrow product.
        {
            var x = H(1, 2, 37, 13);
            var r = H(2, 2, 37, 19);
            var w = Param("lin1.weight", 19, 13);
            var b = Param("lin1.bias", 19);
            yield return ("Linear bias+gelu+residual", () => be.Linear(D(x), w, b, Activation.Gelu, D(r)), () => OpReference.Linear(x, w, b, Activation.Gelu, r));
            var few = H(3, 5, 13);
            yield return ("Linear few rows relu", () => be.Linear(D(few), w, null, Activation.Relu), () => OpReference.Linear(few, w, null, Activation.Relu, null));
            var fewR = H(4, 5, 19);
            yield return ("Linear few rows residual", () => be.Linear(D(few), w, b, Activation.None, D(fewR)), () => OpReference.Linear(few, w, b, Activation.None, fewR));
            var tall = H(5, 70, 33);
            var narrow = Param("proj.weight", 9, 33);
            yield return ("Linear narrow", () => be.Linear(D(tall), narrow, null), () => OpReference.Linear(tall, narrow, null, Activation.None, null));
        }
        {
            HostTensor a = H(6, 3, 19, 24), b = H(7, 3, 70, 24), c = H(8, 1, 5, 7), d = H(9, 1, 3, 7);
            yield return ("MatMulTransposed", () => be.MatMulTransposed(D(a), D(b)), () => OpReference.MatMulTransposed(a, b));
            yield return ("MatMulTransposed small", () => be.MatMulTransposed(D(c), D(d)), () => OpReference.MatMulTransposed(c, d));
        }
        {
            HostTensor a = H(10, 2, 3, 17), b = H(11, 3, 17), c = H(12, 5, 33), d = H(13, 5, 33);
            yield return ("Add broadcast", () => be.Add(D(a), D(b)), () => OpReference.Add(a, b));
            yield return ("Add", () => be.Add(D(c), D(d)), () => OpReference.Add(c, d));
        }
        {
            var x = H(14, 7, 37);
            HostTensor row = H(15, 37), same = H(16, 7, 37);
            var g = Param("norm.weight", 37);
            var b = Param("norm.bias", 37);
            yield return ("LayerNorm", () => be.LayerNorm(D(x), g, b, 1e-6f), () => OpReference.LayerNorm(x, g, b, 1e-6f));
            yield return ("LayerNorm residual broadcast", () => be.LayerNorm(D(x), g, b, 1e-5f, D(row)), () => OpReference.LayerNorm(x, g, b, 1e-5f, row));
            yield return ("LayerNorm residual", () => be.LayerNorm(D(x), g, b, 1e-6f, D(same)), () => OpReference.LayerNorm(x, g, b, 1e-6f, same));
        }
        {
            var x = new HostTensor(Values(17, 3 * 41, scale: 6f), [3, 41]);
            foreach (var act in Enum.GetValues<Activation>())
                yield return ($"Activate {act}", () => be.Activate(D(x), act), () => OpReference.Activate(x, act));
        }
        {
            HostTensor x3 = H(18, 1, 9, 11, 5), x2 = H(19, 2, 10, 10, 1), x1 = H(20, 1, 5, 6, 5), xp = H(21, 1, 12, 16, 3);
            var w3 = Param("neck.2.weight", 7, 5, 3, 3);
            var w2 = Param("mask_downscaling.0.weight", 4, 1, 2, 2);
            var b2 = Param("mask_downscaling.0.bias", 4);
            var w1 = Param("neck.0.weight", 9, 5, 1, 1);
            var wp = Param("patch_embed.proj.weight", 10, 3, 4, 4);
            var bp = Param("patch_embed.proj.bias", 10);
            yield return ("Conv2d 3x3 padded", () => be.Conv2d(D(x3), w3, null, 1, 1), () => OpReference.Conv2d(x3, w3, null, 1, 1));
            yield return ("Conv2d 2x2 stride 2", () => be.Conv2d(D(x2), w2, b2, 2, 0), () => OpReference.Conv2d(x2, w2, b2, 2, 0));
            yield return ("Conv2d 1x1", () => be.Conv2d(D(x1), w1, null, 1, 0), () => OpReference.Conv2d(x1, w1, null, 1, 0));
            yield return ("Conv2d patches", () => be.Conv2d(D(xp), wp, bp, 4, 0), () => OpReference.Conv2d(xp, wp, bp, 4, 0));
        }
        {
            var x = H(22, 2, 3, 5, 6);
            var w = Param("output_upscaling.0.weight", 6, 4, 2, 2);
            var b = Param("output_upscaling.0.bias", 4);
            var norm = new ChannelNorm(Param("output_upscaling.1.weight", 4), Param("output_upscaling.1.bias", 4), 1e-6f);
            yield return ("ConvTranspose2x2", () => be.ConvTranspose2x2(D(x), w, b), () => OpReference.ConvTranspose2x2(x, w, b, null, Activation.None));
            yield return ("ConvTranspose2x2 norm+gelu", () => be.ConvTranspose2x2(D(x), w, b, norm, Activation.Gelu),
                () => OpReference.ConvTranspose2x2(x, w, b, norm, Activation.Gelu));
        }
        foreach (var (h, w, c, heads, window) in new[] { (5, 7, 8, 2, 3), (4, 5, 8, 2, 0), (6, 6, 16, 2, 4), (5, 3, 24, 3, 0) })
        {
            int hd = c / heads, wh = window > 0 ? window : h, ww = window > 0 ? window : w;
            var qkv = H(23 + h, 1, h, w, 3 * c);
            var relH = Param("attn.rel_pos_h", 2 * wh - 1, hd);
            var relW = Param("attn.rel_pos_w", 2 * ww - 1, hd);
            var bias = Param("attn.qkv.bias", 3 * c);
            yield return ($"VitAttention {h}x{w} window {window} head dim {hd}", () => be.VitAttention(D(qkv), heads, window, relH, relW, bias),
                () => OpReference.VitAttention(qkv, heads, window, relH, relW, bias));
        }
        // TinyViT: Conv2d_BN as a 3x3 stride-2 stem conv with GELU, a 1x1 conv with residual then GELU
        // (MBConv's last step), 1x1 without either; depthwise Conv2d_BN at stride 1 and 2 (odd sizes); window
        // attention with biases on padded windows, a window equal to the grid, a window wider than the grid.
        {
            // The generator keeps running_var at 1 + 0.1 v: positive, as a variance is.
            BatchNorm Bn(string name, int c) => new(Param($"{name}.bn.weight", c), Param($"{name}.bn.bias", c),
                Param($"{name}.bn.running_mean", c), Param($"{name}.bn.running_var", c), 1e-5f);
            HostTensor x = H(70, 1, 9, 7, 5), x1 = H(71, 2, 5, 6, 12), r1 = H(72, 2, 5, 6, 9);
            var w3 = Param("seq.0.c.weight", 6, 5, 3, 3);
            var w1 = Param("conv3.c.weight", 9, 12, 1, 1);
            var bn6 = Bn("seq.0", 6);
            var bn9 = Bn("conv3", 9);
            yield return ("Conv2dBn 3x3 stride 2 gelu", () => be.Conv2dBn(D(x), w3, bn6, 2, 1, Activation.Gelu), () => OpReference.Conv2dBn(x, w3, bn6, 2, 1, Activation.Gelu, null));
            yield return ("Conv2dBn 1x1 residual gelu", () => be.Conv2dBn(D(x1), w1, bn9, 1, 0, Activation.Gelu, D(r1)), () => OpReference.Conv2dBn(x1, w1, bn9, 1, 0, Activation.Gelu, r1));
            yield return ("Conv2dBn 1x1", () => be.Conv2dBn(D(x1), w1, bn9, 1, 0), () => OpReference.Conv2dBn(x1, w1, bn9, 1, 0, Activation.None, null));
            yield return ("Conv2dBn 3x3 residual", () => be.Conv2dBn(D(x), w3, bn6, 2, 1, Activation.Relu, D(H(73, 1, 5, 4, 6))),
                () => OpReference.Conv2dBn(x, w3, bn6, 2, 1, Activation.Relu, H(73, 1, 5, 4, 6)));
            HostTensor xd = H(74, 1, 7, 9, 19);
            var wd = Param("conv2.c.weight", 19, 1, 3, 3);
            var bnd = Bn("conv2", 19);
            yield return ("DepthwiseConv2dBn stride 1 gelu", () => be.DepthwiseConv2dBn(D(xd), wd, bnd, 1, Activation.Gelu), () => OpReference.DepthwiseConv2dBn(xd, wd, bnd, 1, Activation.Gelu));
            yield return ("DepthwiseConv2dBn stride 2", () => be.DepthwiseConv2dBn(D(xd), wd, bnd, 2), () => OpReference.DepthwiseConv2dBn(xd, wd, bnd, 2, Activation.None));
            // MBConv (stride 1, residual, GELU) and PatchMerging (stride 2, odd sizes; a lone row) as one op.
            foreach (var (h, w, stride, residual) in new[] { (7, 6, 1, true), (9, 7, 2, false), (1, 5, 1, true) })
            {
                var xb = H(76 + h, 2, h, w, 5);
                var wb = new InvertedBottleneckWeights(Param("conv1.c.weight", 20, 5, 1, 1), Bn("conv1", 20), Param("conv2.c.weight", 20, 1, 3, 3),
                    Bn("conv2", 20), stride, Param("conv3.c.weight", 5, 20, 1, 1), Bn("conv3", 5));
                int ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1;
                var rb = residual ? H(77 + h, 2, ho, wo, 5) : null;
                var act = residual ? Activation.Gelu : Activation.None;
                yield return ($"InvertedBottleneck {h}x{w} stride {stride}{(residual ? " residual gelu" : "")}",
                    () => be.InvertedBottleneck(D(xb), wb, act, rb is null ? null : D(rb)),
                    () =>
                    {
                        var expanded = OpReference.Conv2dBn(xb, wb.Expand, wb.ExpandBn, 1, 0, Activation.Gelu, null);
                        var hidden = OpReference.DepthwiseConv2dBn(expanded, wb.Depthwise, wb.DepthwiseBn, stride, Activation.Gelu);
                        return OpReference.Conv2dBn(hidden, wb.Project, wb.ProjectBn, 1, 0, act, rb);
                    });
            }
        }
        foreach (var (h, w, heads, d, window) in new[] { (7, 5, 2, 4, 3), (4, 4, 3, 8, 4), (3, 2, 1, 5, 4), (9, 8, 2, 16, 7) })
        {
            var qkv = new HostTensor(Values(75 + h, h * w * heads * 3 * d, scale: 2f), [1, h, w, heads * 3 * d]);
            var pad = H(80 + h, heads * 3 * d);
            var ab = Param("attn.attention_biases", heads, window * window);
            yield return ($"TinyVitAttention {h}x{w} window {window}", () => be.TinyVitAttention(D(qkv), D(pad), heads, window, ab),
                () => OpReference.TinyVitAttention(qkv, pad, heads, window, ab));
        }
        // Hiera: padded and odd windows, pooled queries in windows (odd pooled window 7 -> 3 over a
        // padded grid, odd pooled grid 10 -> 5) and globally (odd grid: floor), a window wider than the grid.
        foreach (var (h, w, c, heads, window, pool) in new[]
        {
            (5, 7, 8, 2, 3, false), (4, 5, 12, 3, 0, false), (8, 6, 8, 1, 4, true), (12, 10, 8, 2, 7, true),
            (10, 10, 8, 2, 4, true), (5, 7, 8, 2, 0, true), (3, 3, 4, 1, 5, false),
        })
        {
            var qkv = H(70 + h + w, 1, h, w, 3 * c);
            var bias = Param("attn.qkv.bias", 3 * c);
            yield return ($"HieraAttention {h}x{w} window {window}{(pool ? " pooled" : "")} heads {heads}",
                () => be.HieraAttention(D(qkv), heads, window, pool, bias), () => OpReference.HieraAttention(qkv, heads, window, pool, bias));
        }
        {
            HostTensor even = H(90, 2, 6, 4, 5), odd = H(91, 1, 7, 5, 9);
            yield return ("MaxPool2x2", () => be.MaxPool2x2(D(even)), () => OpReference.MaxPool2x2(even));
            yield return ("MaxPool2x2 odd grid", () => be.MaxPool2x2(D(odd)), () => OpReference.MaxPool2x2(odd));
            HostTensor fine = H(92, 2, 6, 10, 7), coarse = H(93, 2, 3, 5, 7);
            yield return ("AddUpsampled2x", () => be.AddUpsampled2x(D(fine), D(coarse)), () => OpReference.AddUpsampled2x(fine, coarse));
        }
        foreach (var (b, nq, nk, c, heads) in new[] { (2, 1, 70, 12, 3), (1, 40, 37, 16, 2), (1, 7, 7, 20, 5) })
        {
            HostTensor q = H(30 + nq, b, nq, c), k = H(31 + nk, b, nk, c), v = H(32 + nk, b, nk, c);
            yield return ($"Attention {nq} over {nk}", () => be.Attention(D(q), D(k), D(v), heads), () => OpReference.Attention(q, k, v, heads));
        }
        {
            var x = H(40, 2, 5, 7);
            yield return ("Transpose", () => be.Transpose(D(x)), () => OpReference.Transpose(x));
            HostTensor p0 = H(41, 2, 3, 5), p1 = H(42, 2, 1, 5), p2 = H(43, 2, 4, 5);
            yield return ("ConcatRows", () => be.ConcatRows(D(p0), D(p1), D(p2)), () => OpReference.ConcatRows(p0, p1, p2));
            HostTensor s3 = H(44, 2, 7, 3), s4 = H(45, 3, 5, 2, 2);
            yield return ("SliceRows", () => be.SliceRows(D(s3), 2, 4), () => OpReference.SliceRows(s3, 2, 4));
            yield return ("SliceRows rank 4", () => be.SliceRows(D(s4), 1, 3), () => OpReference.SliceRows(s4, 1, 3));
            var gaussian = Param("pe_layer.positional_encoding_gaussian_matrix", 2, 6);
            yield return ("DensePositionalEncoding", () => be.DensePositionalEncoding(gaussian, 5), () => OpReference.DensePositionalEncoding(gaussian, 5));
        }
        {
            // Image→token: a shared image side projected in the op (folded on the CPU), per-prompt image
            // sides already projected, and more token-heads than channels (composed on the CPU).
            var shared = H(50, 1, 20, 12);
            var own = H(51, 2, 20, 8);
            var wq = Param("cross.q_proj.weight", 8, 12);
            var bq = Param("cross.q_proj.bias", 8);
            var wOut = Param("cross.out_proj.weight", 12, 8);
            var bOut = Param("cross.out_proj.bias", 12);
            HostTensor k3 = H(52, 3, 2, 8), v3 = H(53, 3, 2, 8), k2 = H(54, 2, 3, 8), v2 = H(55, 2, 3, 8), k5 = H(56, 1, 5, 8), v5 = H(57, 1, 5, 8);
            yield return ("ImageToTokenAttention shared, projected", () => be.ImageToTokenAttention(D(shared), wq, bq, D(k3), D(v3), 2, wOut, bOut),
                () => OpReference.ImageToTokenAttention(shared, wq, bq, k3, v3, 2, wOut, bOut));
            yield return ("ImageToTokenAttention per prompt", () => be.ImageToTokenAttention(D(own), null, null, D(k2), D(v2), 2, wOut, bOut),
                () => OpReference.ImageToTokenAttention(own, null, null, k2, v2, 2, wOut, bOut));
            yield return ("ImageToTokenAttention many tokens", () => be.ImageToTokenAttention(D(shared), wq, bq, D(k5), D(v5), 2, wOut, bOut),
                () => OpReference.ImageToTokenAttention(shared, wq, bq, k5, v5, 2, wOut, bOut));

            // Token→image: the same three cases from the tokens' side.
            var wk = Param("cross.k_proj.weight", 8, 12);
            var bk = Param("cross.k_proj.bias", 8);
            var wv = Param("cross.v_proj.weight", 8, 12);
            var bv = Param("cross.v_proj.bias", 8);
            HostTensor values = H(58, 1, 20, 12), ownValues = H(59, 2, 20, 8), q3 = H(60, 3, 2, 8), q2 = H(61, 2, 3, 8), q6 = H(62, 1, 6, 8);
            yield return ("TokenToImageAttention shared, projected", () => be.TokenToImageAttention(D(q3), D(shared), wk, bk, D(values), wv, bv, 2),
                () => OpReference.TokenToImageAttention(q3, shared, wk, bk, values, wv, bv, 2));
            yield return ("TokenToImageAttention per prompt", () => be.TokenToImageAttention(D(q2), D(own), null, null, D(ownValues), null, null, 2),
                () => OpReference.TokenToImageAttention(q2, own, null, null, ownValues, null, null, 2));
            yield return ("TokenToImageAttention many tokens", () => be.TokenToImageAttention(D(q6), D(shared), wk, bk, D(values), wv, bv, 2),
                () => OpReference.TokenToImageAttention(q6, shared, wk, bk, values, wv, bv, 2));
        }
        {
            var x = H(63, 2, 3, 3, 8);
            var hyper = H(64, 2, 3, 2);
            var w = new UpscalingWeights(Param("output_upscaling.0.weight", 8, 4, 2, 2), Param("output_upscaling.0.bias", 4),
                Param("output_upscaling.1.weight", 4), Param("output_upscaling.1.bias", 4), 1e-6f,
                Param("output_upscaling.3.weight", 4, 2, 2, 2), Param("output_upscaling.3.bias", 2));
            yield return ("UpscaledMaskLogits", () => be.UpscaledMaskLogits(D(x), w, D(hyper)), () => OpReference.UpscaledMaskLogits(x, w, hyper));
            // SAM 2.1's high-resolution skips, shared by the batch of two prompts.
            HostTensor s1 = H(65, 1, 6, 6, 4), s0 = H(66, 1, 12, 12, 2);
            yield return ("UpscaledMaskLogits high-res skips", () => be.UpscaledMaskLogits(D(x), w, D(hyper), D(s1), D(s0)),
                () => OpReference.UpscaledMaskLogits(x, w, hyper, s1, s0));
        }
    }

    [AcceleratorFact]
    public void EveryOpMatchesItsScalarReference()
    {
        var failures = new List<string>();
        int count = 0;
        foreach (var (name, op, reference) in Cases())
        {
            count++;
            try
            {
                var expected = reference();
                using var y = op();
                KernelAssert.Close(name, expected.Data, Backend.ToHost(y), expected.Shape, y.Shape, Atol, Rtol);
            }
            catch (XunitException e) { failures.Add(e.Message); }
        }
        Assert.True(count >= 20, "every op has a case");
        Assert.True(failures.Count == 0, $"{Backend.Name}: {failures.Count} of {count} cases differ from the reference:\n" + string.Join("\n", failures));
    }
}

/// <summary>On the managed CPU backend.</summary>
public sealed class BackendOpsOnCpu : BackendOpReferenceTests;

/// <summary>On ILGPU's CPU accelerator.</summary>
[Accelerator(IlgpuDeviceKind.Cpu), Collection("ilgpu")] public sealed class BackendOpsOnIlgpuCpu : BackendOpReferenceTests;

/// <summary>On CUDA, when present.</summary>
[Accelerator(IlgpuDeviceKind.Cuda), Collection("ilgpu")] public sealed class BackendOpsOnCuda : BackendOpReferenceTests;
