using SamEngine.Backends;
using SamEngine.Parity;
using Xunit.Abstractions;

namespace SamEngine.Tests.Parity;

/// <summary>
/// MobileSAM parity with the official code (tools/fixtures/mobile_sam): the shipped small fixture
/// (mobile_sam_tiny: every TinyViT intermediate, the embedding, every prompt case) on <c>cpu</c>, and the
/// full-size one (1024 input, the official TinyViT-5M configuration) from <c>fixtures-large/</c> when it
/// has been generated (Large category). Limits: engine-contracts.md's fp32 column.
/// </summary>
public sealed class MobileSamParityTests(ITestOutputHelper output)
{
    /// <summary>Runs a fixture and asserts every tensor it holds; at least <paramref name="minimumCompared"/> of them.</summary>
    internal void AssertParity(string dir, IBackend? backend, int minimumCompared, Precision precision = Precision.Fp32)
    {
        var results = new ParityRunner(dir, backend, precision).Run();
        foreach (var r in results)
            output.WriteLine($"{r.Name,-40} {r.Metric,-12} relL2={r.RelL2:E2} maxAbs={r.MaxAbs:E2} equal={r.EqualShare:P3} {(r.Passed ? "ok" : "FAIL " + r.Detail)}");
        Assert.True(results.Count >= minimumCompared, $"only {results.Count} tensors compared");
        var failed = results.Where(r => !r.Passed).Select(r => $"{r.Name} ({r.Metric}: relL2 {r.RelL2:E2}, max abs {r.MaxAbs:E2}; {r.Detail})").ToList();
        Assert.True(failed.Count == 0, "parity failed: " + string.Join("; ", failed));
    }

    /// <summary>18 TinyViT intermediates, neck_conv1, the embedding, dense PE, the input and every case's outputs: 54 tensors.</summary>
    [Fact]
    public void Tiny_matches_every_reference_tensor_on_cpu() => AssertParity(TestFixtures.Local("mobile_sam_tiny"), null, 54);

    /// <summary>The official MobileSAM configuration at 1024: image embedding within 1e-4 rel L2, every case.</summary>
    [LargeFixtureFact("mobile_sam"), Trait("Category", "Large")]
    public void FullSize_matches_every_reference_tensor_on_cpu() => AssertParity(TestFixtures.Large("mobile_sam")!, null, 45);
}
