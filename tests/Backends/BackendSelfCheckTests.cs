using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Parity;

namespace SamEngine.Tests.Backends;

/// <summary>The start-up self-check: a backend that computes right passes, one that is off or fails is refused with the comparison.</summary>
public class BackendSelfCheckTests
{
    [Fact]
    public void CpuAgainstItselfPassesOnBothFamilies()
    {
        using var candidate = new CpuBackend();
        var result = BackendSelfCheck.Run(candidate);
        Assert.True(result.Passed, result.Summary);
        Assert.Contains(result.Comparisons, c => c.Name == "sam1.image_embeddings");
        Assert.Contains(result.Comparisons, c => c.Name == "sam2.high_res_feats_0");
        Assert.Contains(result.Comparisons, c => c.Name == "sam2.mask_input.low_res_logits");
        Assert.Contains(result.Comparisons, c => c.Name == "sam1.box_points.masks");
    }

    [Fact]
    public void ErrorsFarBelowTheLimitsPass()
    {
        using var candidate = new FakeDeviceBackend(error: 1e-7f);
        var result = BackendSelfCheck.Run(candidate);
        Assert.True(result.Passed, result.Summary);
        Assert.Contains(result.Comparisons, c => c.RelL2 > 0); // the fake did change the numbers
    }

    [Fact]
    public void WrongNumbersAreRefusedNamingTheTensorAndLimit()
    {
        using var candidate = new FakeDeviceBackend(error: 1e-2f);
        var result = BackendSelfCheck.Run(candidate);
        Assert.False(result.Passed);
        Assert.Null(result.Error);
        Assert.Contains("sam1.image_embeddings: rel L2", result.Summary);
        Assert.Contains("> 0.0001", result.Summary);
    }

    [Fact]
    public void WrongNumbersWithinFp16LimitsPassAtFp16()
    {
        using var candidate = new FakeDeviceBackend(error: 1e-4f);
        Assert.False(BackendSelfCheck.Run(candidate, Precision.Fp32).Passed);
        Assert.True(BackendSelfCheck.Run(candidate, Precision.Fp16).Passed);
    }

    [Fact]
    public void BackendThatThrowsFailsTheCheck()
    {
        using var candidate = new FakeDeviceBackend(throwInAttention: true);
        var result = BackendSelfCheck.Run(candidate);
        Assert.False(result.Passed);
        Assert.Contains("kernel launch failed", result.Summary);
    }
}
