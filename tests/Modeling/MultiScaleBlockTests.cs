using SamEngine.Backends.Cpu;
using SamEngine.Config;
using SamEngine.Modeling;
using SamEngine.Parity;
using SamEngine.Weights;

namespace SamEngine.Tests.Modeling;

/// <summary>
/// A Hiera block's attention over bands of window rows (which bounds the qkv held at once) against the
/// same block in one band: pooling and plain windowed blocks, grids that windows do not divide, and a
/// global block (always one band); no tensor left behind.
/// </summary>
public sealed class MultiScaleBlockTests
{
    private static readonly HieraArchitecture Trunk = ImageEncoderHieraTests.Small.Validate().Hiera!;

    [Theory]
    [InlineData(1, 22)] // the first pooling block, window 8: bands of 8, 8 and 6 rows (padded), pooled to 4, 4, 3
    [InlineData(1, 24)] // the same, windows dividing the grid
    [InlineData(2, 11)] // stage 1's windowed block, window 4: bands of 4, 4, 3
    [InlineData(3, 11)] // the second pooling block (window 4 from stage 1) on an odd grid
    [InlineData(4, 6)]  // a global block: one band whatever the budget
    public void BandsOfWindowRowsGiveTheWholeBlock(int index, int grid)
    {
        var block = new MultiScaleBlock(new WeightScope(new GeneratedWeightSource(seed: 3)).Push("blocks").Push(index), Trunk, index);
        int stage = Trunk.StageOf(index);
        int dim = Trunk.PoolsQueries(index) ? Trunk.StageDim(stage - 1) : Trunk.StageDim(stage);
        var input = Enumerable.Range(0, grid * grid * dim).Select(i => MathF.Sin(i * 0.61f)).ToArray();
        using var be = new TensorTrackingBackend(new CpuBackend());
        float[] Run(int maxQkvPerBand)
        {
            using var x = be.FromHost(input, 1, grid, grid, dim);
            using var y = block.Forward(be, x, consumeInput: false, maxQkvPerBand);
            return be.ToHost(y);
        }

        var whole = Run(int.MaxValue);
        var banded = Run(maxQkvPerBand: 1); // one window row per band
        Assert.Equal(0, be.Live);
        var c = TensorCompare.Compare($"block_{index}", banded, whole, referenceIsFp16: false, Precision.Fp32);
        Assert.True(c.RelL2 < 1e-6, $"block {index} on a {grid} grid: rel L2 {c.RelL2:E2} between bands and one band; {c.Detail}");
    }

    [Theory]
    [InlineData(256, 256, 864, 8, 1 << 23, 32)] // hiera_l's first pooling block: 4 window rows of 1.77 M values
    [InlineData(256, 256, 864, 0, 1 << 23, 256)] // global attention is never banded
    [InlineData(64, 64, 288, 8, 1 << 23, 64)]    // a small grid is one band
    [InlineData(20, 20, 300, 7, 1, 7)]           // at least one window row
    public void BandRowsAreWholeWindowRowsWithinTheBudget(int h, int w, int qkvWidth, int window, int budget, int want) =>
        Assert.Equal(want, MultiScaleBlock.BandRows(h, w, qkvWidth, window, budget));
}

/// <summary>The banded attention on ILGPU (its slices, reshapes and concatenation) against the cpu backend in one band.</summary>
[Collection("ilgpu")]
public sealed class MultiScaleBlockIlgpuTests
{
    [Fact]
    public void BandsOnIlgpuGiveTheCpuBlock()
    {
        const int index = 1, grid = 22; // the first pooling block: bands of 8, 8, 6 rows
        var trunk = ImageEncoderHieraTests.Small.Validate().Hiera!;
        var block = new MultiScaleBlock(new WeightScope(new GeneratedWeightSource(seed: 3)).Push("blocks").Push(index), trunk, index);
        int dim = trunk.StageDim(0);
        var input = Enumerable.Range(0, grid * grid * dim).Select(i => MathF.Cos(i * 0.29f)).ToArray();
        float[] Run(SamEngine.Backends.IBackend be, int maxQkvPerBand)
        {
            using var x = be.FromHost(input, 1, grid, grid, dim);
            using var y = block.Forward(be, x, consumeInput: false, maxQkvPerBand);
            return be.ToHost(y);
        }
        using var cpu = new CpuBackend();
        using var gpu = SamEngine.Kernels.IlgpuBackend.Create(SamEngine.Kernels.IlgpuDeviceKind.Cpu);
        var c = TensorCompare.Compare("block_1", Run(gpu, maxQkvPerBand: 1), Run(cpu, int.MaxValue), referenceIsFp16: false, Precision.Fp32);
        Assert.True(c.RelL2 < 1e-5, $"rel L2 {c.RelL2:E2} between ilgpu-cpu in bands and cpu in one; {c.Detail}");
    }
}
