using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Config;
using SamEngine.Kernels;
using SamEngine.Modeling;
using SamEngine.Processing;
using SamEngine.Tests.Kernels;
using SamEngine.Weights;

namespace SamEngine.Tests.Modeling;

/// <summary>
/// The Hiera encoder with generated weights: its host-side position tables against their plain
/// formulas, its shapes and taps, the CPU and ILGPU backends against each other, no tensor left behind,
/// and its FLOP count against the modules' sizes spelled out. Parity with the official code is in
/// <see cref="ImageEncoderHieraParityTests"/>.
/// </summary>
[Collection("ilgpu")]
public sealed class ImageEncoderHieraTests
{
    /// <summary>
    /// 96 px: stride-4 grid 24, stages 24/12/6/3. Windows 8 → pooled 4 (3 windows a side either way),
    /// 4 (padded 12 → 12), 6 → pooled 3, 3 over a 3 grid; one global block; 2 heads doubling.
    /// </summary>
    internal static SamArchitecture Small => new()
    {
        Family = ModelFamily.Sam2, ImgSize = 96, PromptEmbedDim = 16,
        Hiera = new() { EmbedDim = 8, NumHeads = 2, Stages = [1, 2, 2, 1], GlobalAttBlocks = [4], WindowSpec = [8, 4, 6, 3], WindowPosEmbedBkgSpatialSize = [5, 3] },
    };

    private static ImageEncoderHiera Generated(SamArchitecture a, out WeightScope root)
    {
        root = new WeightScope(new GeneratedWeightSource(seed: 0));
        return new ImageEncoderHiera(root.Push("image_encoder"), a.Validate());
    }

    private static float[] Image(int s) => Enumerable.Range(0, s * s * 3).Select(i => MathF.Sin(i * 0.37f) * 2f).ToArray();

    [Fact]
    public void BicubicResizeIsTheCubicConvolutionOfTorch()
    {
        const double a = -0.75;
        static double Kernel(double x) // Keys' cubic convolution, |x| < 2
        {
            x = Math.Abs(x);
            return x <= 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : x < 2 ? a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a : 0;
        }
        var rng = new Random(3);
        int planes = 2, inH = 3, inW = 4;
        var x = Enumerable.Range(0, planes * inH * inW).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        foreach (var (outH, outW) in new[] { (7, 5), (2, 9), (3, 4), (16, 16) })
        {
            var y = Bicubic.Resize(x, planes, inH, inW, outH, outW);
            for (int p = 0; p < planes; p++)
                for (int i = 0; i < outH; i++)
                    for (int j = 0; j < outW; j++)
                    {
                        double sy = (i + 0.5) * inH / outH - 0.5, sx = (j + 0.5) * inW / outW - 0.5, expected = 0;
                        for (int ky = (int)Math.Floor(sy) - 1; ky <= (int)Math.Floor(sy) + 2; ky++)
                            for (int kx = (int)Math.Floor(sx) - 1; kx <= (int)Math.Floor(sx) + 2; kx++)
                                expected += Kernel(sy - ky) * Kernel(sx - kx) * x[(p * inH + Math.Clamp(ky, 0, inH - 1)) * inW + Math.Clamp(kx, 0, inW - 1)];
                        Assert.True(Math.Abs(y[(p * outH + i) * outW + j] - expected) <= 1e-5, $"{outH}x{outW} plane {p} at ({i}, {j}): {y[(p * outH + i) * outW + j]} vs {expected}");
                    }
        }
    }

    [Fact]
    public void SineEncodingIsTheFormula()
    {
        int d = 12, h = 3, w = 5, half = d / 2;
        var y = PositionEmbeddingSine.Encode(d, h, w);
        Assert.Equal(h * w * d, y.Length);
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                for (int ch = 0; ch < d; ch++)
                {
                    int k = ch % half;
                    double pos = ch < half ? (i + 1) / (h + 1e-6) * 2 * Math.PI : (j + 1) / (w + 1e-6) * 2 * Math.PI;
                    double arg = pos / Math.Pow(10000, 2.0 * (k / 2) / half);
                    double expected = k % 2 == 0 ? Math.Sin(arg) : Math.Cos(arg);
                    Assert.True(Math.Abs(y[(i * w + j) * d + ch] - expected) <= 1e-5, $"({i}, {j}, {ch}): {y[(i * w + j) * d + ch]} vs {expected}");
                }
    }

    [Fact]
    public void PositionEmbeddingAddsTheTiledWindowEmbedding()
    {
        // A background already at the grid's size is not resampled: the sum is exact.
        int c = 3, h = 6, w = 4, w0 = 2;
        var background = new Parameter("pos_embed", [1, c, h, w], GeneratedWeights.Generate("pos_embed", [1, c, h, w], 1));
        var window = new Parameter("pos_embed_window", [1, c, w0, w0], GeneratedWeights.Generate("pos_embed_window", [1, c, w0, w0], 1));
        float[] bg = background.ToFloat(), win = window.ToFloat();
        var y = Hiera.PositionEmbedding(background, window, h, w);
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    Assert.Equal(bg[(ch * h + i) * w + j] + win[(ch * w0 + i % w0) * w0 + j % w0], y[(i * w + j) * c + ch]);
        Assert.Throws<ArgumentException>(() => Hiera.PositionEmbedding(background, window, 5, 4));
    }

    [Fact]
    public void ForwardGivesTheScalpedLevelsAndEveryTap()
    {
        var a = Small;
        var encoder = Generated(a, out var root);
        root.Finish(); // every weight requested by its official name and shape
        using var be = new CpuBackend();
        int s = a.ImgSize, g = a.GridSize, d = a.PromptEmbedDim;
        using var image = be.FromHost(Image(s), 1, s, s, 3);
        var taps = new Dictionary<string, Tensor>();
        var done = new List<int>();
        var levels = encoder.Forward(be, image, (name, t) => taps.Add(name, t), (i, n) => done.Add(i));
        try
        {
            Assert.Equal([[1, 4 * g, 4 * g, d], [1, 2 * g, 2 * g, d], [1, g, g, d]], levels.Select(l => l.Shape));
            Assert.Equal(Enumerable.Range(1, a.Hiera!.Depth), done);
            int[] Grid(int stage, int c) => [1, 4 * g >> stage, 4 * g >> stage, c];
            Assert.Equal(Grid(0, 8), taps["trunk.pos_embed"].Shape);
            Assert.Equal(Grid(0, 8), taps["trunk.patch_embed"].Shape);
            for (int i = 0; i < a.Hiera.Depth; i++) Assert.Equal(Grid(a.Hiera.StageOf(i), a.Hiera.StageDim(a.Hiera.StageOf(i))), taps[$"trunk.block_{i}"].Shape);
            for (int k = 0; k < 4; k++) Assert.Equal(Grid(k, 8 << k), taps[$"trunk.stage_{k}"].Shape);
            for (int k = 0; k < 3; k++)
            {
                Assert.Same(levels[k], taps[$"neck.level_{k}"]);
                Assert.Equal(Grid(k, d), taps[$"neck.pos_{k}"].Shape);
            }
            Assert.Equal(2 + a.Hiera.Depth + 4 + 6, taps.Count);
            // The window embedding is what makes neighbouring windows' positions differ: not all equal.
            Assert.True(be.ToHost(taps["trunk.pos_embed"]).Distinct().Count() > 100);
        }
        finally
        {
            foreach (var t in taps.Values.Concat(levels).Distinct()) t.Dispose();
        }
    }

    [Fact]
    public void CpuAndIlgpuAgreeAndLeaveNoTensorBehind()
    {
        var a = Small;
        var encoder = Generated(a, out _);
        int s = a.ImgSize;
        var input = Image(s);
        float[][] Run(IBackend be)
        {
            using var image = be.FromHost(input, 1, s, s, 3);
            var levels = encoder.Forward(be, image);
            try { return levels.Select(be.ToHost).ToArray(); }
            finally { foreach (var l in levels) l.Dispose(); }
        }
        using var tracking = new TensorTrackingBackend(new CpuBackend());
        var cpu = Run(tracking);
        Assert.Equal(0, tracking.Live);
        using var gpu = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        int before = DeviceMemory.LiveTensors(gpu);
        var ilgpu = Run(gpu);
        Assert.Equal(before, DeviceMemory.LiveTensors(gpu));
        for (int k = 0; k < cpu.Length; k++)
        {
            var c = SamEngine.Parity.TensorCompare.Compare($"level_{k}", ilgpu[k], cpu[k], referenceIsFp16: false, SamEngine.Parity.Precision.Fp32);
            Assert.True(c.RelL2 < 1e-5, $"level {k}: rel L2 {c.RelL2:E2} between ilgpu-cpu and cpu; {c.Detail}");
        }
    }

    [Fact]
    public void FlopsCountEveryProductOfTheModules()
    {
        // All blocks global, one per stage: no padding, so each product is its sizes' product.
        var a = new SamArchitecture
        {
            Family = ModelFamily.Sam2, ImgSize = 64, PromptEmbedDim = 16,
            Hiera = new() { EmbedDim = 4, NumHeads = 1, Stages = [1, 1, 1, 1], GlobalAttBlocks = [0, 1, 2, 3], WindowSpec = [4, 4, 4, 4] },
        }.Validate();
        double macs = 16.0 * 16 * 3 * 7 * 7 * 4; // patch embedding over the 16 x 16 grid
        for (int stage = 0; stage < 4; stage++)
        {
            double c = 4 << stage, cin = stage == 0 ? c : c / 2, t = Math.Pow(16 >> stage, 2), tin = stage == 0 ? t : 4 * t;
            macs += tin * cin * 3 * c;                 // qkv, on the input grid
            macs += 2 * t * tin * c;                   // q kᵀ and p v, pooled queries against every key
            macs += t * c * c + t * 8 * c * c;         // attention proj, MLP
            if (stage > 0) macs += tin * cin * c;       // the shortcut's proj
            macs += t * c * 16;                        // the neck's lateral conv of this stage
        }
        Assert.Equal(2 * macs, ImageEncoderHiera.Flops(a), 6);
        // Hiera-T at 1024 by hand: ~7 G MAC per block at every stage (MLP 4.8, qkv 1.8, proj 0.6), 12 blocks
        // plus the transitions' wider qkv, 3 global products of 12.9 G MAC at 64 x 64: ~145 G MAC.
        Assert.InRange(ImageEncoderHiera.Flops(SamArchitecture.Sam21HieraT) / 1e9, 250, 330);
        var sizes = new[] { SamArchitecture.Sam21HieraT, SamArchitecture.Sam21HieraS, SamArchitecture.Sam21HieraBPlus, SamArchitecture.Sam21HieraL };
        Assert.Equal(sizes.Select(ImageEncoderHiera.Flops).Order(), sizes.Select(ImageEncoderHiera.Flops));
    }
}
