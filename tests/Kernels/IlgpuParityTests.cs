using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// <c>samengine parity --backend ilgpu-cpu [--precision fp16]</c> on the small fixtures: the whole model
/// on ILGPU's CPU accelerator, with float32 and with fp16 activations, against the official outputs and
/// the contract's limits for that precision. Minutes each on a 2-core machine, hence the category
/// (<c>--filter "Category!=IlgpuParity"</c> leaves them out).
/// </summary>
[Trait("Category", "IlgpuParity"), Collection("ilgpu")]
public sealed class IlgpuParityTests
{
    [Theory]
    [InlineData("tiny", Precision.Fp32)]
    [InlineData("odd", Precision.Fp32)]
    [InlineData("tiny", Precision.Fp16)]
    [InlineData("odd", Precision.Fp16)]
    public void FixturePassesOnTheCpuAccelerator(string fixture, Precision precision) => AssertParity(fixture, precision);

    /// <summary>MobileSAM's ops are each run on the CPU accelerator against their references by
    /// BackendOpReferenceTests in CI; its whole-model run (minutes) is in the opt-in Large category.</summary>
    [Theory, Trait("Category", "Large")]
    [InlineData("mobile_sam_tiny", Precision.Fp32)]
    [InlineData("mobile_sam_tiny", Precision.Fp16)]
    public void MobileSamPassesOnTheCpuAccelerator(string fixture, Precision precision) => AssertParity(fixture, precision);

    private static void AssertParity(string fixture, Precision precision)
    {
        using var backend = IlgpuBackend.Create(IlgpuDeviceKind.Cpu, precision: precision);
        var results = new ParityRunner(TestFixtures.Local(fixture), backend, precision).Run();
        var failed = results.Where(r => !r.Passed).Select(r => $"{r.Name}: {r.Metric} rel L2 {r.RelL2:E2}, max abs {r.MaxAbs:E2} {r.Detail}").ToList();
        Assert.NotEmpty(results);
        Assert.True(failed.Count == 0, $"{fixture} on ilgpu-cpu ({precision}): {failed.Count} of {results.Count} comparisons failed:\n" + string.Join("\n", failed));
    }
}
