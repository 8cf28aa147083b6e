using SamEngine.Backends.Cpu;
using SamEngine.Modeling;

namespace SamEngine.Tests.Modeling;

/// <summary>The encoder's MLP over all tokens at once and over two halves (ViT-L/H) gives the same embedding.</summary>
public sealed class ImageEncoderMlpSplitTests
{
    [Fact]
    public void Mlp_over_halves_of_the_tokens_matches_the_whole()
    {
        using var model = TestFixtures.LoadModel("tiny", new CpuBackend());
        int s = model.Architecture.ImgSize;
        var input = Enumerable.Range(0, s * s * 3).Select(i => MathF.Sin(i * 0.01f)).ToArray();
        float[] Encode()
        {
            using var x = model.Backend.FromHost(input, 1, s, s, 3);
            using var y = model.ImageEncoder.Forward(model.Backend, x);
            return model.Backend.ToHost(y);
        }

        var whole = Encode();
        long saved = ImageEncoderViT.MlpWholeHiddenBytes;
        ImageEncoderViT.MlpWholeHiddenBytes = 0; // every MLP split
        float[] halves;
        try { halves = Encode(); }
        finally { ImageEncoderViT.MlpWholeHiddenBytes = saved; }
        Assert.Equal(whole, halves); // rows are independent and each row's sums run in the same order
    }
}
