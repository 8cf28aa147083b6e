using SamEngine.Backends.Cpu;
using SamEngine.Parity;
using Xunit.Abstractions;

namespace SamEngine.Tests.Parity;

/// <summary>
/// Parity of the int8 encoder path (<c>--precision int8</c>, cpu backend) on the tiny and odd fixtures,
/// against the official fp32 outputs with the fp16 column of engine-contracts.md's limits, and its masks
/// against the engine's own fp32 masks.
/// </summary>
public sealed class Int8ParityTests(ITestOutputHelper output)
{
    /// <summary>
    /// Outputs downstream of the encoder whose rel L2 int8 cannot bring within the fp16 column's 1e-2 on
    /// these random-weight fixtures (README, "Low precision (int8)"): rounding the weights alone to int8,
    /// activations exact, already gives odd's image_embeddings 1.2e-2. Measured with int8 weights and
    /// activations: tiny image_embeddings 1.06e-2; odd up to 1.6e-2 (embeddings, blocks, logits).
    /// Every other tensor, every mask and every IoU score must meet the fp16 limits.
    /// </summary>
    private static bool EncoderDerivedRelL2(Comparison c) =>
        c.Metric == "rel L2" && (c.Name is "image_embeddings" or "neck_conv1" || c.Name.StartsWith("block_", StringComparison.Ordinal)
            || c.Name.EndsWith(".low_res_logits", StringComparison.Ordinal) || c.Name.EndsWith(".mask_logits", StringComparison.Ordinal));

    [Theory]
    [InlineData("tiny", 47)]
    [InlineData("odd", 48)]
    public void Int8_meets_the_fp16_limits_for_masks_scores_and_every_tensor_but_the_encoder_derived_rel_l2(string fixture, int minimumCompared)
    {
        using var backend = new CpuBackend(Precision.Int8);
        var results = new ParityRunner(TestFixtures.Local(fixture), backend, Precision.Int8).Run();
        foreach (var r in results)
            output.WriteLine($"{r.Name,-36} {r.Metric,-12} relL2={r.RelL2:E2} maxAbs={r.MaxAbs:E2} equal={r.EqualShare:P3} limit={r.Limit:G3} {(r.Passed ? "ok" : "beyond")}");
        Assert.True(results.Count >= minimumCompared, $"only {results.Count} tensors compared");
        Assert.All(results, r => Assert.Equal(r.Metric switch { "pixels equal" => 0.995, "max abs" or "rel L2" => 1e-2, _ => r.Limit }, r.Limit));
        var failed = results.Where(r => !r.Passed && !EncoderDerivedRelL2(r)).Select(r => $"{r.Name} ({r.Metric}: relL2 {r.RelL2:E2}, max abs {r.MaxAbs:E2}, equal {r.EqualShare:P3})").ToList();
        Assert.True(failed.Count == 0, "int8 parity failed: " + string.Join("; ", failed));
        // The masks are what a user sees: every case's, at the fp16 column's 99.5 %.
        Assert.Contains(results, r => r.Metric == "pixels equal");
        // And int8 did run: the encoder's outputs differ from fp32's (patch_embed, a conv, does not).
        Assert.Contains(results, r => r.Name == "block_0" && r.RelL2 > 1e-4);
        Assert.Contains(results, r => r.Name == "patch_embed" && r.RelL2 < 1e-5);
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("odd")]
    public void Int8_masks_agree_with_fp32_on_99_percent_of_pixels(string fixture)
    {
        string dir = TestFixtures.Local(fixture);
        var fp32 = new ParityRunner(dir);
        fp32.Run();
        using var backend = new CpuBackend(Precision.Int8);
        var int8 = new ParityRunner(dir, backend, Precision.Int8);
        int8.Run();
        var masks = fp32.Outputs.Keys.Where(k => k.EndsWith(".masks", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(masks);
        foreach (var name in masks)
        {
            var a = Values(fp32.Outputs[name]);
            var b = Values(int8.Outputs[name]);
            Assert.Equal(a.Length, b.Length);
            double agree = a.Zip(b).Count(p => p.First == p.Second) / (double)a.Length;
            output.WriteLine($"{name,-32} {agree:P3} of {a.Length} pixels agree");
            Assert.True(agree >= 0.99, $"{fixture} {name}: int8 and fp32 masks agree on {agree:P3} of pixels");
        }
    }

    private static float[] Values(EngineTensor t) => t.Floats ?? t.Bytes!.Select(b => (float)b).ToArray();
}
