namespace SamEngine.Backends.Cpu;

/// <summary>
/// SAM's output upscaling fused with the mask product, one row of the g x g grid at a time: the
/// first transposed conv (a GEMM with the four output pixels as columns), LayerNorm2d and GELU in
/// place, the second transposed conv with its GELU in the GEMM epilogue, then the hypernetwork
/// product. A row's intermediates (a few hundred KB) stay in cache, and the [B, 4g, 4g, C] upscaled
/// tensor, 8 MB per prompt at vit_b, is never written.
/// </summary>
public sealed partial class CpuBackend
{
    [ThreadStatic] private static float[]? _up1, _up2, _rowMasks;

    /// <inheritdoc />
    public Tensor UpscaledMaskLogits(Tensor x, UpscalingWeights w, Tensor hyper)
    {
        var (b, g, d, c1, c, masks) = OpShapes.UpscaledMaskLogits(x, w, hyper);
        var path = Gemm.ActivePath;
        int nr = Gemm.Panel(path);
        var conv1 = Gemm.PackAll(path, ConvTransposeRhs(w.Conv1Weight)); // [D, (dy, dx, c1)]
        var conv2 = Gemm.PackAll(path, ConvTransposeRhs(w.Conv2Weight)); // [C1, (dy, dx, c)]
        var bias1 = ConvTransposeBias(w.Conv1Bias);
        var bias2 = ConvTransposeBias(w.Conv2Bias);
        float[] gamma = Floats(w.NormWeight), beta = Floats(w.NormBias);
        var xd = Cpu(x).Data;
        var hyperData = Cpu(hyper).Data;
        int side = 4 * g, plane = side * side;
        int mid = 4 * g, fine = 16 * g; // positions of one grid row after the first and second conv
        int maskStride = (masks + nr - 1) / nr * nr;
        var y = CpuTensor.Uninitialized(b, masks, plane);
        var hyperT = new float[b][];
        for (int bi = 0; bi < b; bi++) hyperT[bi] = Gemm.PackAll(path, GemmRhs.Transposed(hyperData, bi * masks * c, masks, c)); // [C, M]

        Parallel.For(0, b * g, item =>
        {
            int bi = item / g, row = item % g;
            var up1 = Buffer(ref _up1, mid * c1);         // [(x, dy, dx), c1]
            var up2 = Buffer(ref _up2, fine * c);         // [(x, dy, dx, dy2, dx2), c]
            var logits = Buffer(ref _rowMasks, fine * maskStride); // [(x, dy, dx, dy2, dx2), M]
            Gemm.MultiplyPacked(path, g, 4 * c1, d, xd, (bi * g + row) * g * d, d, conv1, 0, d * nr, up1, 0, 4 * c1, accumulate: false, bias1);
            Elementwise.LayerNorm(up1, up1, mid, c1, gamma, beta, w.NormEps);
            Elementwise.GeluInPlace(up1.AsSpan(0, mid * c1));
            Gemm.MultiplyPacked(path, mid, 4 * c, c1, up1, 0, c1, conv2, 0, c1 * nr, up2, 0, 4 * c, accumulate: false, bias2, Activation.Gelu);
            Gemm.MultiplyPacked(path, fine, masks, c, up2, 0, c, hyperT[bi], 0, c * nr, logits, 0, maskStride, accumulate: false);

            // Position (x, dy, dx, dy2, dx2) of this grid row is pixel (4 row + 2 dy + dy2, 4 x + 2 dx + dx2).
            for (int m = 0; m < masks; m++)
            {
                var dst = y.Data.AsSpan((bi * masks + m) * plane + 4 * row * side, 4 * side);
                for (int p = 0; p < fine; p++)
                {
                    int px = p >> 4, dy = (p >> 3) & 1, dx = (p >> 2) & 1, dy2 = (p >> 1) & 1, dx2 = p & 1;
                    dst[(2 * dy + dy2) * side + 4 * px + 2 * dx + dx2] = logits[p * maskStride + m];
                }
            }
        });
        return y;
    }
}
