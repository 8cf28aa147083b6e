using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// <c>samengine parity --backend ilgpu-cpu</c> on the small fixtures: the whole model on ILGPU's CPU
/// accelerator against the official outputs. Minutes each on a 2-core machine, hence the category
/// (<c>--filter "Category!=IlgpuParity"</c> leaves them out).
/// </summary>
[Trait("Category", "IlgpuParity"), Collection("ilgpu")]
public sealed class IlgpuParityTests
{
    [Theory]
    [InlineData("tiny")]
    [InlineData("odd")]
    public void FixturePassesOnTheCpuAccelerator(string fixture)
    {
        using var backend = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        var results = new ParityRunner(TestFixtures.Local(fixture), backend).Run();
        var failed = results.Where(r => !r.Passed).Select(r => $"{r.Name}: {r.Metric} rel L2 {r.RelL2:E2}, max abs {r.MaxAbs:E2} {r.Detail}").ToList();
        Assert.NotEmpty(results);
        Assert.True(failed.Count == 0, $"{fixture} on ilgpu-cpu: {failed.Count} of {results.Count} comparisons failed:\n" + string.Join("\n", failed));
    }
}
