using SamEngine.IO;
using SamEngine.Tests.IO;
using SamEngine.Weights;

namespace SamEngine.Tests.Weights;

/// <summary>The splitmix-v1 generator against the spec's vectors and the shipped generated models.</summary>
public sealed class GeneratedWeightsTests() : TempDirectoryTests("samengine-gen-")
{
    [Fact]
    public void Fnv1a64MatchesSpecVector() =>
        Assert.Equal(0xbf1a6a589af4aceeUL, GeneratedWeights.Fnv1a64("image_encoder.patch_embed.proj.weight"));

    [Fact]
    public void UniformPm1MatchesSpecVector()
    {
        // The spec defines these values to the bit, so exact equality is the right check here.
        float[] expected = [-0.7338407f, -0.59036684f, -0.7609149f, -0.64776444f];
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], GeneratedWeights.UniformPm1(12345, i));
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("odd")]
    public void RegeneratesShippedModelByteForByte(string set)
    {
        string shipped = SafeTensorsTests.Fixture(set, "model.safetensors");
        var writer = new SafeTensorsWriter();
        using (var f = SafeTensorsFile.Open(shipped))
        {
            foreach (var info in f.Tensors.Values)
                writer.AddHalf(info.Name, info.Shape, GeneratedWeights.Generate(info.Name, info.Shape, modelSeed: 0));
        }
        string path = Path.Combine(TempDir, $"{set}.safetensors");
        writer.Write(path, new Dictionary<string, string> { ["format"] = "pt", ["generator"] = "splitmix-v1", ["seed"] = "0" });

        byte[] expected = File.ReadAllBytes(shipped), actual = File.ReadAllBytes(path);
        Assert.Equal(expected.Length, actual.Length);
        int first = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(first == expected.Length, $"{set}: first differing byte at offset {first}");
    }

    [Fact]
    public void ParallelChunksMatchTheElementFormula()
    {
        // 3 x 70000 spans several parallel chunks; check elements around each chunk boundary.
        const string name = "image_encoder.blocks.0.mlp.lin1.weight";
        int[] shape = [3, 70000];
        var bits = GeneratedWeights.Generate(name, shape, modelSeed: 7);
        ulong seed = GeneratedWeights.Fnv1a64(name) ^ 7;
        float s = (float)Math.Sqrt(3.0 / 70000);
        foreach (int i in new[] { 0, 1, 65535, 65536, 65537, 131071, 131072, bits.Length - 1 })
            Assert.Equal(Fp16.FromFloat(GeneratedWeights.UniformPm1(seed, i) * s), bits[i]);
    }

    [Theory]
    [InlineData("mask_decoder.iou_token.weight", 1f, 0f)]                 // embedding: v
    [InlineData("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", 1f, 0f)]
    [InlineData("image_encoder.pos_embed", 0.02f, 0f)]
    [InlineData("sam_prompt_encoder.point_embeddings.2.weight", 1f, 0f)] // SAM 2.x embeddings: v
    [InlineData("sam_prompt_encoder.no_mask_embed.weight", 1f, 0f)]
    [InlineData("sam_mask_decoder.mask_tokens.weight", 1f, 0f)]
    [InlineData("sam_mask_decoder.obj_score_token.weight", 1f, 0f)]
    [InlineData("image_encoder.trunk.pos_embed_window", 0.02f, 0f)]
    [InlineData("no_mem_embed", 0.02f, 0f)]
    public void RuleTableForTwoDimensionalTensors(string name, float scale, float offset)
    {
        int[] shape = [4, 8];
        var bits = GeneratedWeights.Generate(name, shape, modelSeed: 0);
        ulong seed = GeneratedWeights.Fnv1a64(name);
        for (int i = 0; i < bits.Length; i++)
            Assert.Equal(Fp16.FromFloat(offset + scale * GeneratedWeights.UniformPm1(seed, i)), bits[i]);
    }

    [Fact]
    public void RuleTableForOneDimensionalTensors()
    {
        var norm = GeneratedWeights.Generate("image_encoder.neck.1.weight", [5], 0);
        var bias = GeneratedWeights.Generate("image_encoder.neck.1.bias", [5], 0);
        ulong sn = GeneratedWeights.Fnv1a64("image_encoder.neck.1.weight"), sb = GeneratedWeights.Fnv1a64("image_encoder.neck.1.bias");
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(Fp16.FromFloat(1f + 0.1f * GeneratedWeights.UniformPm1(sn, i)), norm[i]);
            Assert.Equal(Fp16.FromFloat(0.02f * GeneratedWeights.UniformPm1(sb, i)), bias[i]);
        }
    }

    [Fact]
    public void SourceGeneratesMisshapenRequestsDeterministically()
    {
        const string name = "image_encoder.patch_embed.proj.weight";
        int[] odd = [5, 3, 2, 2]; // not the architecture's shape: still generated, with this shape
        var a = new GeneratedWeightSource(seed: 0);
        var b = new GeneratedWeightSource(seed: 0);
        var p = a.Get(name, odd);
        Assert.Equal(odd, p.Shape);
        Assert.Equal(GeneratedWeights.Generate(name, odd, 0), p.HalfBits);
        Assert.Equal(p.HalfBits, b.Get(name, odd).HalfBits);
        Assert.NotEqual(p.HalfBits.ToArray(), new GeneratedWeightSource(seed: 1).Get(name, odd).HalfBits.ToArray());

        float[] f = p.ToFloat();
        for (int i = 0; i < f.Length; i++) Assert.Equal((float)BitConverter.UInt16BitsToHalf(p.HalfBits[i]), f[i]);
        Assert.All(f, x => Assert.InRange(x, -0.51f, 0.51f)); // |v * sqrt(3 / 12)| < 0.5

        Assert.Equal([name], a.Names);
        Assert.Same(p, a.Generated[name]);
    }

    [Fact]
    public void SourcePassesStrictLoadAndKeepsRequestOrder()
    {
        var src = new GeneratedWeightSource(seed: 0);
        var root = new WeightScope(src);
        root.Push("mask_decoder").Get("iou_token.weight", 1, 8);
        root.Push("image_encoder").Push("neck").Push(1).Get("bias", 8);
        root.Finish();
        Assert.Equal(["mask_decoder.iou_token.weight", "image_encoder.neck.1.bias"], src.Generated.Keys);
    }
}
