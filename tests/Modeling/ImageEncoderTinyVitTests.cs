using SamEngine.Backends.Cpu;
using SamEngine.Config;
using SamEngine.Modeling;
using SamEngine.Weights;

namespace SamEngine.Tests.Modeling;

/// <summary>MobileSAM's TinyViT encoder on the mobile_sam_tiny architecture: memory discipline and taps (its values: MobileSamParityTests).</summary>
public sealed class ImageEncoderTinyVitTests
{
    private static SamArchitecture Tiny => SamArchitecture.FromJson(File.ReadAllText(Path.Combine(TestFixtures.Local("mobile_sam_tiny"), "cases.json")));

    private static float[] Image(int s) => Enumerable.Range(0, s * s * 3).Select(i => MathF.Sin(i * 0.37f)).ToArray();

    [Fact]
    public void Forward_leaves_no_tensor_behind_with_or_without_taps()
    {
        var a = Tiny;
        using var tracking = new TensorTrackingBackend(new CpuBackend());
        using var model = SamModel.Create(a, new GeneratedWeightSource(0), tracking);
        int s = a.ImgSize;
        float[] plain;
        using (var image = tracking.FromHost(Image(s), 1, s, s, 3))
        using (var y = model.TinyVitEncoder.Forward(tracking, image))
        {
            Assert.Equal([1, 256, s / 16, s / 16], y.Shape);
            plain = tracking.ToHost(y);
        }
        Assert.Equal(0, tracking.Live);

        var tapped = new List<string>();
        var kept = new List<SamEngine.Backends.Tensor>();
        using (var image = tracking.FromHost(Image(s), 1, s, s, 3))
        using (var y = model.TinyVitEncoder.Forward(tracking, image, (name, t) => { tapped.Add(name); kept.Add(t); }))
            Assert.Equal(plain, tracking.ToHost(y)); // tapping changes nothing
        foreach (var t in kept.Distinct()) t.Dispose();
        Assert.Equal(0, tracking.Live);
        // Every intermediate of the fixture, in order: stem, 2 MBConvs, 4 TinyViT blocks with 3 taps each, 3 merges, neck.
        Assert.Equal(["patch_embed", "layers.0.blocks.0", "layers.0.blocks.1", "layers.0.downsample",
            "layers.1.blocks.0.attn", "layers.1.blocks.0.local_conv", "layers.1.blocks.0", "layers.1.downsample",
            "layers.2.blocks.0.attn", "layers.2.blocks.0.local_conv", "layers.2.blocks.0",
            "layers.2.blocks.1.attn", "layers.2.blocks.1.local_conv", "layers.2.blocks.1", "layers.2.downsample",
            "layers.3.blocks.0.attn", "layers.3.blocks.0.local_conv", "layers.3.blocks.0", "neck_conv1"], tapped);
    }

    [Fact]
    public void A_ViT_accessor_on_a_MobileSam_model_says_which_encoder_it_has()
    {
        using var model = SamModel.Create(Tiny, new GeneratedWeightSource(0));
        Assert.Contains("TinyViT encoder, not a ViT", Assert.Throws<InvalidOperationException>(() => model.ImageEncoder).Message);
    }
}
