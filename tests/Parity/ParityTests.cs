using SamEngine.Parity;
using Xunit.Abstractions;

namespace SamEngine.Tests.Parity;

/// <summary>
/// End-to-end parity with the official PyTorch outputs, every reference tensor against the limits of
/// engine-contracts.md (fp32 column).
/// </summary>
public sealed class ParityTests(ITestOutputHelper output)
{
    private void AssertParity(string dir, int minimumCompared)
    {
        var runner = new ParityRunner(dir);
        var results = runner.Run();
        foreach (var r in results)
            output.WriteLine($"{r.Name,-36} {r.Metric,-12} relL2={r.RelL2:E2} maxAbs={r.MaxAbs:E2} equal={r.EqualShare:P3} {(r.Passed ? "ok" : "FAIL " + r.Detail)}");
        Assert.True(results.Count >= minimumCompared, $"only {results.Count} tensors compared");
        var failed = results.Where(r => !r.Passed).Select(r => $"{r.Name} ({r.Metric}: relL2 {r.RelL2:E2}, max abs {r.MaxAbs:E2}, equal {r.EqualShare:P3}; {r.Detail})").ToList();
        Assert.True(failed.Count == 0, "parity failed: " + string.Join("; ", failed));
    }

    [Fact]
    public void Tiny_matches_every_reference_tensor() => AssertParity(TestFixtures.Local("tiny"), 47);

    [Fact]
    public void Odd_matches_every_reference_tensor() => AssertParity(TestFixtures.Local("odd"), 48);

    /// <summary>
    /// The shipped demo model (weights/demo, the file <c>--model demo</c> loads) on samples/shapes.png halved:
    /// fixture written by tools/demo-model/make_fixture.py from the official code with the same file.
    /// </summary>
    [Fact]
    public void Demo_model_matches_every_reference_tensor() => AssertParity(TestFixtures.Local("demo"), 42);

    /// <summary>vit_b (full size, generated weights): final outputs and the stored intermediates.</summary>
    [SharedFixtureFact("vit_b"), Trait("Category", "FullSize")]
    public void VitB_matches_reference() => AssertParity(TestFixtures.Shared("vit_b")!, 37);

    /// <summary>vit_h: 32 blocks; heavy, so only in the opt-in Large category.</summary>
    [SharedFixtureFact("vit_h"), Trait("Category", "Large")]
    public void VitH_matches_reference() => AssertParity(TestFixtures.Shared("vit_h")!, 7);

    [Fact]
    public void Out_file_holds_every_reference_tensor_under_its_name_and_shape()
    {
        string dir = TestFixtures.Local("tiny");
        var runner = new ParityRunner(dir);
        runner.Run();
        string path = Path.Combine(Path.GetTempPath(), $"parity-{Guid.NewGuid():N}.safetensors");
        try
        {
            runner.WriteOutputs(path);
            using var written = SamEngine.IO.SafeTensorsFile.Open(path);
            using var reference = SamEngine.IO.SafeTensorsFile.Open(Path.Combine(dir, "reference.safetensors"));
            foreach (var (name, info) in reference.Tensors)
            {
                if (name == "image") continue;
                Assert.True(written.Contains(name), $"--out lacks '{name}'");
                Assert.Equal(info.Shape, written.Info(name).Shape);
            }
            Assert.Equal(SamEngine.IO.SafeTensorDType.U8, written.Info("input_resized").DType);
            Assert.Equal(SamEngine.IO.SafeTensorDType.U8, written.Info("point_multi.masks").DType);
            // A value check, not just names: the written embedding equals what the runner computed.
            Assert.Equal(runner.Outputs["image_embeddings"].Floats, written.ReadFloat32("image_embeddings"));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Comparison_rejects_a_perturbed_tensor()
    {
        var reference = Enumerable.Range(0, 1000).Select(i => MathF.Sin(i)).ToArray();
        var engine = reference.Select(v => v * 1.001f).ToArray(); // rel L2 = 1e-3 > 1e-4
        var c = TensorCompare.Compare("image_embeddings", engine, reference, referenceIsFp16: false, Precision.Fp32);
        Assert.False(c.Passed);
        Assert.InRange(c.RelL2, 9e-4, 1.1e-3);
        Assert.True(TensorCompare.Compare("image_embeddings", engine, reference, false, Precision.Fp16).Passed);
    }

    [Fact]
    public void Mask_comparison_counts_flipped_pixels()
    {
        var reference = new float[10000];
        var engine = (float[])reference.Clone();
        for (int i = 0; i < 11; i++) engine[i * 7] = 1; // 0.11% differ > 0.1%
        Assert.False(TensorCompare.Compare("a.masks", engine, reference, false, Precision.Fp32).Passed);
        engine[0] = 0; // 0.10% differ: at the limit
        Assert.True(TensorCompare.Compare("a.masks", engine, reference, false, Precision.Fp32).Passed);
    }
}
