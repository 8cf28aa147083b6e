using SamEngine.Backends;
using SamEngine.Kernels;
using SamEngine.Parity;
using Xunit.Abstractions;

namespace SamEngine.Tests.Parity;

/// <summary>
/// SAM 2.1 parity with the official <c>SAM2ImagePredictor</c> on the small fixtures, every reference tensor
/// against the limits of engine-contracts.md (object scores under the IoU limit), on <c>cpu</c> and
/// <c>ilgpu-cpu</c>: end to end (every trunk and neck intermediate too), and with the decoder run from the
/// reference's image embedding and high-resolution features, which checks the prompt encoder, the decoder
/// and the post-processing apart from the encoder.
/// </summary>
public sealed class Sam2ParityTests(ITestOutputHelper output)
{
    /// <summary>The tensors only the encoder makes (a decoder-only run has none of them).</summary>
    private static readonly string[] EncoderOnly = ["trunk.", "neck."];

    /// <summary>Runs the fixture in <paramref name="fixtureDir"/> and asserts every compared tensor is within its limit.</summary>
    internal void AssertParity(string fixtureDir, IBackend? backend, int minimumCompared, bool fromReferenceEmbedding, Precision precision = Precision.Fp32)
    {
        var results = new ParityRunner(fixtureDir, backend, precision, fromReferenceEmbedding).Run()
            .Where(r => !fromReferenceEmbedding || !EncoderOnly.Any(p => r.Name.StartsWith(p, StringComparison.Ordinal))).ToList();
        if (!fromReferenceEmbedding)
        {
            Assert.Contains(results, r => r.Name.StartsWith("trunk.block_", StringComparison.Ordinal));
            Assert.Contains(results, r => r.Name.StartsWith("neck.level_", StringComparison.Ordinal));
        }
        foreach (var r in results)
            output.WriteLine($"{r.Name,-40} {r.Metric,-12} relL2={r.RelL2:E2} maxAbs={r.MaxAbs:E2} equal={r.EqualShare:P3} {(r.Passed ? "ok" : "FAIL " + r.Detail)}");
        Assert.True(results.Count >= minimumCompared, $"only {results.Count} tensors compared");
        Assert.Contains(results, r => r.Name.EndsWith(".object_score_logits", StringComparison.Ordinal));
        var failed = results.Where(r => !r.Passed).Select(r => $"{r.Name} ({r.Metric}: relL2 {r.RelL2:E2}, max abs {r.MaxAbs:E2}, equal {r.EqualShare:P3}; {r.Detail})").ToList();
        Assert.True(failed.Count == 0, "parity failed: " + string.Join("; ", failed));
    }

    [Theory]
    [InlineData("sam2.1_tiny")]
    [InlineData("sam2.1_odd")]
    public void Decoder_matches_every_reference_tensor_on_cpu(string fixture) => AssertParity(TestFixtures.Local(fixture), null, 50, fromReferenceEmbedding: true);

    [Theory]
    [InlineData("sam2.1_tiny")]
    [InlineData("sam2.1_odd")]
    public void End_to_end_matches_every_reference_tensor_on_cpu(string fixture) => AssertParity(TestFixtures.Local(fixture), null, 65, fromReferenceEmbedding: false);

}

/// <summary>
/// The same SAM 2.1 checks on ILGPU's CPU accelerator, with float32 and with fp16 activations against the
/// contract's limits for each (slow: the IlgpuParity category).
/// </summary>
[Trait("Category", "IlgpuParity"), Collection("ilgpu")]
public sealed class Sam2IlgpuParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("sam2.1_tiny", Precision.Fp32)]
    [InlineData("sam2.1_odd", Precision.Fp32)]
    [InlineData("sam2.1_tiny", Precision.Fp16)]
    [InlineData("sam2.1_odd", Precision.Fp16)]
    public void End_to_end_matches_every_reference_tensor_on_ilgpu_cpu(string fixture, Precision precision)
    {
        using var backend = IlgpuBackend.Create(IlgpuDeviceKind.Cpu, precision: precision);
        new Sam2ParityTests(output).AssertParity(TestFixtures.Local(fixture), backend, 65, fromReferenceEmbedding: false, precision);
    }
}
