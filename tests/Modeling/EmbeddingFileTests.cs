using SamEngine.Backends.Cpu;
using SamEngine.IO;
using SamEngine.Modeling;
using SamEngine.Parity;
using SamEngine.Tests.Checkpoints;

namespace SamEngine.Tests.Modeling;

/// <summary>An embedding file's metadata is untrusted input: every size it claims is bounded.</summary>
public sealed class EmbeddingFileTests
{
    private static readonly Lazy<SamModel> Tiny = new(() => TestFixtures.LoadModel("tiny"));

    /// <summary>A genuine embedding of a 20 x 30 image by the tiny model.</summary>
    private static string SavedEmbedding(string dir)
    {
        var p = new SamPredictor(Tiny.Value);
        p.SetImage(Enumerable.Range(0, 20 * 30 * 3).Select(i => (byte)(i * 7)).ToArray(), 20, 30);
        string path = Path.Combine(dir, "genuine.safetensors");
        EmbeddingFile.Save(path, Tiny.Value, p.Embedding!);
        return path;
    }

    /// <summary>A copy of <paramref name="source"/> with metadata <paramref name="key"/> set to <paramref name="value"/> (removed when null).</summary>
    internal static string WithMetadata(string source, string dest, string key, string? value)
    {
        using var file = SafeTensorsFile.Open(source);
        var writer = new SafeTensorsWriter();
        foreach (var (name, info) in file.Tensors) writer.Add(name, info.DType, info.Shape, file.GetBytes(name));
        var meta = file.Metadata.ToDictionary();
        if (value is null) meta.Remove(key);
        else meta[key] = value;
        writer.Write(dest, meta);
        return dest;
    }

    [Theory]
    [InlineData("original_height", "-20", "'original_height' is not a positive integer")]
    [InlineData("original_width", "0", "'original_width' is not a positive integer")]
    [InlineData("original_height", "twenty", "'original_height' is not a positive integer")]
    [InlineData("original_width", "99999999999999999999", "'original_width' is not a positive integer")]
    [InlineData("original_height", "2147483648", "'original_height' is not a positive integer")]
    [InlineData("original_height", "4000000", "'original_height' x 'original_width': image size 4000000 x 30 = 120000000 pixels is over the limit")]
    [InlineData("input_width", "-1", "'input_width' is not a positive integer")]
    [InlineData("input_height", "7", "does not match the original size 20 x 30")]
    [InlineData("sam_architecture", "{\"img_size\": 1e30}", "metadata 'sam_architecture'")]
    [InlineData("encoder_precision", "bf16", "metadata 'encoder_precision' is 'bf16', not fp32, fp16 or int8")]
    public void Hostile_metadata_is_refused_naming_the_field_and_file(string key, string value, string expected)
    {
        string dir = TestFiles.TempDir();
        string path = WithMetadata(SavedEmbedding(dir), Path.Combine(dir, "hostile.safetensors"), key, value);
        var predictor = new SamPredictor(Tiny.Value);
        var e = Assert.ThrowsAny<ArgumentException>(() => EmbeddingFile.Load(path, Tiny.Value, predictor));
        Assert.Contains(expected, e.Message);
        Assert.Contains("hostile.safetensors", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Null(predictor.Embedding); // nothing half-loaded
    }

    [Fact]
    public void Original_size_over_the_pixel_limit_is_refused()
    {
        // The repro: 40000 x 40000 is 16 x the 100-megapixel image limit.
        string dir = TestFiles.TempDir();
        string path = WithMetadata(SavedEmbedding(dir), Path.Combine(dir, "big.safetensors"), "original_height", "40000");
        path = WithMetadata(path, Path.Combine(dir, "hostile.safetensors"), "original_width", "40000");
        var e = Assert.Throws<ArgumentException>(() => EmbeddingFile.Load(path, Tiny.Value, new SamPredictor(Tiny.Value)));
        Assert.Contains("40000 x 40000 = 1600000000 pixels is over the limit of 100000000", e.Message);
    }

    [Fact]
    public void Embedding_tensor_of_another_shape_is_refused()
    {
        string dir = TestFiles.TempDir();
        string genuine = SavedEmbedding(dir);
        using var file = SafeTensorsFile.Open(genuine);
        var writer = new SafeTensorsWriter();
        var info = file.Info("image_embeddings");
        writer.Add("image_embeddings", info.DType, [(int)info.ElementCount], file.GetBytes("image_embeddings"));
        string path = Path.Combine(dir, "flat.safetensors");
        writer.Write(path, file.Metadata);
        var e = Assert.Throws<ArgumentException>(() => EmbeddingFile.Load(path, Tiny.Value, new SamPredictor(Tiny.Value)));
        Assert.Contains("tensor 'image_embeddings' is [", e.Message);
    }

    [Fact]
    public void A_genuine_embedding_round_trips()
    {
        string dir = TestFiles.TempDir();
        string path = SavedEmbedding(dir);
        using (var file = SafeTensorsFile.Open(path)) Assert.Equal("fp32", file.Metadata["encoder_precision"]);
        var e = EmbeddingFile.Load(path, Tiny.Value, new SamPredictor(Tiny.Value));
        Assert.Equal((20, 30), (e.OriginalHeight, e.OriginalWidth));
        Assert.Equal(Precision.Fp32, e.EncoderPrecision);
    }

    [Fact]
    public void An_int8_embedding_says_so_wherever_it_is_loaded()
    {
        string dir = TestFiles.TempDir();
        using var backend = new CpuBackend(Precision.Int8);
        using var int8Model = TestFixtures.LoadModel("tiny", backend);
        var p = new SamPredictor(int8Model);
        p.SetImage(Enumerable.Range(0, 20 * 30 * 3).Select(i => (byte)(i * 7)).ToArray(), 20, 30);
        Assert.Equal(Precision.Int8, p.Embedding!.EncoderPrecision);
        string path = Path.Combine(dir, "int8.safetensors");
        EmbeddingFile.Save(path, int8Model, p.Embedding!);
        using (var file = SafeTensorsFile.Open(path)) Assert.Equal("int8", file.Metadata["encoder_precision"]);
        // The same weights in fp32 accept it (the prompts run in fp32), and it stays marked int8.
        var e = EmbeddingFile.Load(path, Tiny.Value, new SamPredictor(Tiny.Value));
        Assert.Equal(Precision.Int8, e.EncoderPrecision);
    }

    [Fact]
    public void An_embedding_file_without_the_precision_field_was_made_in_fp32()
    {
        string dir = TestFiles.TempDir();
        string path = WithMetadata(SavedEmbedding(dir), Path.Combine(dir, "older.safetensors"), "encoder_precision", null);
        using (var file = SafeTensorsFile.Open(path)) Assert.False(file.Metadata.ContainsKey("encoder_precision"));
        Assert.Equal(Precision.Fp32, EmbeddingFile.Load(path, Tiny.Value, new SamPredictor(Tiny.Value)).EncoderPrecision);
    }
}
