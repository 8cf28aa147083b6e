using SamEngine.Weights;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// SAM's output upscaling fused with the mask product, one row of the g x g grid at a time: the
/// first transposed conv (a GEMM with the four output pixels as columns), LayerNorm2d and GELU in
/// place, then the second transposed conv computed channel-major (rows are (sub-pixel, channel),
/// columns the row's positions), so that its bias, GELU and the hypernetwork product are plain
/// vector passes along rows with no horizontal sums. A row's intermediates (a few hundred KB) stay in
/// cache, and the [B, 4g, 4g, C] upscaled tensor, 8 MB per prompt at vit_b, is never written.
/// SAM 2.1's high-resolution skips are added to the row's intermediates where upstream adds them: feat_s1
/// before the LayerNorm2d, feat_s0 before the second GELU.
/// </summary>
public sealed partial class CpuBackend
{
    private static readonly ScratchPool<UpscalingScratch> UpscalingScratchPool = new();

    /// <summary>One worker's buffers for a grid row's intermediates.</summary>
    private sealed class UpscalingScratch
    {
        public float[]? Up1, Up1Packed, Up2, Acc, Skip0;
    }

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Parameter, float[]> _convTRows = new();
    private readonly PerPathCache<float[]> _packedConvT = new(); // the first transposed conv as one SIMD path's GEMM panels

    /// <inheritdoc />
    public Tensor UpscaledMaskLogits(Tensor x, UpscalingWeights w, Tensor hyper, Tensor? featS1 = null, Tensor? featS0 = null)
    {
        var (b, g, d, c1, c, masks) = OpShapes.UpscaledMaskLogits(x, w, hyper, featS1, featS0);
        var path = Gemm.ActivePath;
        var y = CpuTensor.Uninitialized(b, masks, 16 * g * g);
        var job = new UpscalingJob(path, b, g, d, c1, c, masks, Cpu(x).Data, Cpu(hyper).Data,
            featS1 is null ? null : Cpu(featS1).Data, featS0 is null ? null : Cpu(featS0).Data,
            _packedConvT.Get(w.Conv1Weight, path, () => Gemm.PackedPanels(path, ConvTransposeRhs(w.Conv1Weight))),
            ConvTransposeBias(w.Conv1Bias), Floats(w.NormWeight), Floats(w.NormBias), w.NormEps,
            ConvTransposeRows(w.Conv2Weight), Floats(w.Conv2Bias), y.Data);
        // One grid row per work item, every prompt of the batch in turn: the row's feat_s0 gather, done once,
        // serves them all (the prompts of a batch share one image).
        CpuParallel.For(0, g, UpscalingScratchPool, job.Row);
        return y;
    }

    /// <summary>
    /// One call's operands: x [B, g, g, D], hyper [B, masks, C], the skips (SAM 2.1) or null, the first conv
    /// packed as the GEMM's B panels ([D, (dy, dx, c1)]) with its bias repeated per sub-pixel, the norm, the
    /// second conv as rows [(dy2, dx2, c), C1] with its bias, and y [B, masks, 4g · 4g].
    /// </summary>
    private sealed record UpscalingJob(SimdPath Path, int B, int G, int D, int C1, int C, int Masks, float[] X, float[] Hyper,
        float[]? FeatS1, float[]? FeatS0, float[] Conv1, float[] Bias1, float[] Gamma, float[] Beta, float Eps,
        float[] Conv2, float[] Bias2, float[] Y)
    {
        /// <summary>Positions of one grid row after the first conv: (x, dy, dx).</summary>
        private int Mid => 4 * G;

        /// <summary>Columns per packed GEMM panel on <see cref="Path"/>.</summary>
        private int Nr => Gemm.Panel(Path);

        public void Row(int row, UpscalingScratch s)
        {
            var up1 = Scratch.Ensure(ref s.Up1, Mid * C1);
            var up1Packed = Scratch.Ensure(ref s.Up1Packed, (Mid + Nr - 1) / Nr * Nr * C1);
            var up2 = Scratch.Ensure(ref s.Up2, 4 * C * Mid);
            var acc = Scratch.Ensure(ref s.Acc, Masks * 4 * Mid);
            var skip0 = FeatS0 is null ? null : Scratch.Ensure(ref s.Skip0, 4 * C * Mid);
            if (skip0 is not null) GatherSkip0(skip0, FeatS0!, row, G, C);
            for (int bi = 0; bi < B; bi++)
            {
                FirstConv(bi, row, up1);
                SecondConv(up1, up1Packed, skip0, up2);
                // Bias, GELU and the product with each mask's hypernetwork output, in one pass per row.
                Array.Clear(acc, 0, Masks * 4 * Mid);
                switch (Path)
                {
                    case SimdPath.Vector512: GeluProducts<Simd512>(up2, C, Mid, Bias2, Hyper, bi * Masks * C, Masks, acc); break;
                    case SimdPath.Vector256: GeluProducts<Simd256>(up2, C, Mid, Bias2, Hyper, bi * Masks * C, Masks, acc); break;
                    case SimdPath.Vector128: GeluProducts<Simd128>(up2, C, Mid, Bias2, Hyper, bi * Masks * C, Masks, acc); break;
                    default: GeluProducts<SimdPortable>(up2, C, Mid, Bias2, Hyper, bi * Masks * C, Masks, acc); break;
                }
                Scatter(bi, row, acc);
            }
        }

        /// <summary>up1 [(x, dy, dx), C1] = GELU(LayerNorm2d(conv1(x row) + feat_s1)).</summary>
        private void FirstConv(int bi, int row, float[] up1)
        {
            Gemm.MultiplyPacked(Path, G, 4 * C1, D, X, (bi * G + row) * G * D, D, Conv1, 0, D * Nr, up1, 0, 4 * C1, accumulate: false, Bias1);
            if (FeatS1 is not null) AddSkip1(up1, FeatS1, row, G, C1);
            Elementwise.LayerNorm(up1, up1, Mid, C1, Gamma, Beta, Eps);
            Elementwise.GeluInPlace(up1.AsSpan(0, Mid * C1));
        }

        /// <summary>
        /// up2 [(dy2, dx2, ch), position] = conv2 · up1ᵀ, channel-major; with SAM 2.1's feat_s0 (already laid
        /// out channel-major in <paramref name="skip0"/>) the product accumulates onto it.
        /// </summary>
        private void SecondConv(float[] up1, float[] up1Packed, float[]? skip0, float[] up2)
        {
            var up1T = GemmRhs.Transposed(up1, 0, Mid, C1);
            for (int j0 = 0; j0 < Mid; j0 += Nr) up1T.PackPanel(j0, Nr, up1Packed.AsSpan(j0 * C1, C1 * Nr));
            if (skip0 is not null) Array.Copy(skip0, up2, 4 * C * Mid);
            Gemm.MultiplyPacked(Path, 4 * C, Mid, C1, Conv2, 0, C1, up1Packed, 0, C1 * Nr, up2, 0, Mid, accumulate: skip0 is not null);
        }

        /// <summary>
        /// acc [(m, dy2, dx2), (x, dy, dx)] of prompt <paramref name="bi"/>'s grid row into its masks: position
        /// (x, dy, dx) and sub-pixel (dy2, dx2) of this grid row are pixel (4 row + 2 dy + dy2, 4 x + 2 dx + dx2).
        /// </summary>
        private void Scatter(int bi, int row, float[] acc)
        {
            int side = 4 * G, plane = side * side;
            for (int m = 0; m < Masks; m++)
            {
                var dst = Y.AsSpan((bi * Masks + m) * plane + 4 * row * side, 4 * side);
                for (int sub = 0; sub < 4; sub++)
                {
                    var src = acc.AsSpan((m * 4 + sub) * Mid, Mid);
                    int dy2 = sub >> 1, dx2 = sub & 1;
                    for (int p = 0; p < Mid; p++)
                    {
                        int px = p >> 2, dy = (p >> 1) & 1, dx = p & 1;
                        dst[(2 * dy + dy2) * side + 4 * px + 2 * dx + dx2] = src[p];
                    }
                }
            }
        }
    }

    /// <summary>
    /// up1 [(x, dy, dx), C1] of grid row <paramref name="row"/> += feat_s1 [2g, 2g, C1] at pixel (2 row + dy, 2x + dx).
    /// </summary>
    private static void AddSkip1(float[] up1, float[] featS1, int row, int g, int c1)
    {
        for (int p = 0; p < 4 * g; p++)
        {
            int px = p >> 2, dy = (p >> 1) & 1, dx = p & 1;
            Elementwise.AddInPlace(up1.AsSpan(p * c1, c1), featS1.AsSpan(((2 * row + dy) * 2 * g + 2 * px + dx) * c1, c1));
        }
    }

    /// <summary>
    /// up2 [(dy2, dx2, ch), (x, dy, dx)] of grid row <paramref name="row"/> = feat_s0 [4g, 4g, C] at pixel
    /// (4 row + 2 dy + dy2, 4x + 2 dx + dx2): a gather across the channel-major layout, as 8 x 8 transposes
    /// of eight positions' channel vectors where AVX is there.
    /// </summary>
    private static unsafe void GatherSkip0(float[] up2, float[] featS0, int row, int g, int c)
    {
        int mid = 4 * g, side = 4 * g;
        bool blocked = SimdTranspose.IsSupported && c % 8 == 0;
        var sources = stackalloc float*[8];
        fixed (float* pu = up2, pf = featS0)
            for (int sub = 0; sub < 4; sub++)
            {
                int dy2 = sub >> 1, dx2 = sub & 1;
                // Offset in feat_s0 of position p's channel vector for this sub-pixel.
                int Source(int p) => ((4 * row + 2 * ((p >> 1) & 1) + dy2) * side + 4 * (p >> 2) + 2 * (p & 1) + dx2) * c;
                int p0 = 0;
                if (blocked)
                    for (; p0 + 8 <= mid; p0 += 8)
                    {
                        for (int k = 0; k < 8; k++) sources[k] = pf + Source(p0 + k);
                        for (int c0 = 0; c0 < c; c0 += 8) SimdTranspose.Block8(sources, c0, 1f, pu + (sub * c + c0) * mid + p0, mid);
                    }
                for (int p = p0; p < mid; p++)
                    for (int ch = 0; ch < c; ch++) pu[(sub * c + ch) * mid + p] = pf[Source(p) + ch];
            }
    }

    /// <summary>
    /// acc[(m, sub), p] += GELU(up2[(sub, ch), p] + bias[ch]) · hyper[m, ch] over every sub-pixel, channel
    /// and mask: each activated value is used for all masks while it is in a register.
    /// </summary>
    private static unsafe void GeluProducts<T>(float[] up2, int c, int mid, float[] bias, float[] hyper, int hyperOffset, int masks, float[] acc)
        where T : struct, ISimdFloat<T>
    {
        fixed (float* pu = up2, pa = acc, ph = hyper)
            for (int sub = 0; sub < 4; sub++)
                for (int ch = 0; ch < c; ch++)
                {
                    float* row = pu + (sub * c + ch) * mid, h = ph + hyperOffset + ch;
                    float b = bias[ch];
                    int p = 0;
                    for (; p + T.Count <= mid; p += T.Count)
                    {
                        var v = Elementwise.Gelu(T.Load(row + p) + T.Create(b));
                        for (int m = 0; m < masks; m++)
                        {
                            float* a = pa + (m * 4 + sub) * mid + p;
                            T.Fma(v, T.Create(h[m * c]), T.Load(a)).Store(a);
                        }
                    }
                    for (; p < mid; p++)
                    {
                        float v = MathUtil.Gelu(row[p] + b);
                        for (int m = 0; m < masks; m++) pa[(m * 4 + sub) * mid + p] += v * h[m * c];
                    }
                }
    }

    /// <summary>A 2x2 transposed conv's weight [Cin, Cout, 2, 2] as rows [(dy, dx, co), Cin], float32, cached.</summary>
    private float[] ConvTransposeRows(Parameter weight) => _convTRows.GetValue(weight, p =>
    {
        int cin = p.Shape[0], cout = p.Shape[1];
        var src = p.ToFloat();
        var rows = new float[4 * cout * cin];
        for (int ci = 0; ci < cin; ci++)
            for (int co = 0; co < cout; co++)
                for (int k = 0; k < 4; k++)
                    rows[(k * cout + co) * cin + ci] = src[(ci * cout + co) * 4 + k];
        return rows;
    });
}
