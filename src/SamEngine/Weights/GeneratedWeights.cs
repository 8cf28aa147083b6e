using System.Runtime.CompilerServices;
using System.Text;

namespace SamEngine.Weights;

/// <summary>
/// The seeded weight generator "splitmix-v1" (shared/spec/generated-weights.md), specified to the bit:
/// the fixtures' reference outputs were computed with exactly these fp16 values.
/// </summary>
public static class GeneratedWeights
{
    private const ulong Golden = 0x9E3779B97F4A7C15;
    private const int ChunkSize = 1 << 16;

    // The nn.Embedding weights: 2-D ".weight" tensors that are not linear/conv, so they get v unscaled.
    private static readonly HashSet<string> EmbeddingNames = new(StringComparer.Ordinal)
    {
        "prompt_encoder.point_embeddings.0.weight",
        "prompt_encoder.point_embeddings.1.weight",
        "prompt_encoder.point_embeddings.2.weight",
        "prompt_encoder.point_embeddings.3.weight",
        "prompt_encoder.not_a_point_embed.weight",
        "prompt_encoder.no_mask_embed.weight",
        "mask_decoder.iou_token.weight",
        "mask_decoder.mask_tokens.weight",
        // SAM 2.x: the same modules under sam_prompt_encoder / sam_mask_decoder, plus the object-score token.
        "sam_prompt_encoder.point_embeddings.0.weight",
        "sam_prompt_encoder.point_embeddings.1.weight",
        "sam_prompt_encoder.point_embeddings.2.weight",
        "sam_prompt_encoder.point_embeddings.3.weight",
        "sam_prompt_encoder.not_a_point_embed.weight",
        "sam_prompt_encoder.no_mask_embed.weight",
        "sam_mask_decoder.iou_token.weight",
        "sam_mask_decoder.mask_tokens.weight",
        "sam_mask_decoder.obj_score_token.weight",
    };

    /// <summary>FNV-1a 64 of the UTF-8 bytes of <paramref name="s"/>.</summary>
    public static ulong Fnv1a64(string s)
    {
        ulong h = 0xCBF29CE484222325;
        foreach (byte b in Encoding.UTF8.GetBytes(s))
            h = (h ^ b) * 0x100000001B3;
        return h;
    }

    /// <summary>The <paramref name="i"/>-th value v in [-1, 1) of the stream for <paramref name="tensorSeed"/> (exact float32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float UniformPm1(ulong tensorSeed, long i)
    {
        ulong z = tensorSeed + (ulong)(i + 1) * Golden;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        z ^= z >> 31;
        float u = (float)(z >> 40) / 16777216f;
        return 2f * u - 1f;
    }

    /// <summary>Generates the fp16 bits of tensor <paramref name="name"/> with <paramref name="shape"/> (row-major).</summary>
    public static ushort[] Generate(string name, int[] shape, ulong modelSeed)
    {
        long n = ShapeUtil.Count(shape);
        if (n > Array.MaxLength) throw new ArgumentException($"tensor '{name}': {n} elements is too many", nameof(shape));
        var (scale, offset) = Affine(name, shape);
        ulong seed = Fnv1a64(name) ^ modelSeed;
        var bits = new ushort[n];

        int chunks = (int)((n + ChunkSize - 1) / ChunkSize);
        if (chunks <= 1) Fill(bits, 0, (int)n, seed, scale, offset);
        else Parallel.For(0, chunks, c =>
        {
            int start = c * ChunkSize;
            Fill(bits, start, (int)Math.Min(ChunkSize, n - start), seed, scale, offset);
        });
        return bits;
    }

    private static void Fill(ushort[] bits, int start, int count, ulong seed, float scale, float offset)
    {
        for (int i = start; i < start + count; i++)
        {
            // offset + scale * v: separate float32 multiply and add (the JIT does not fuse them).
            // With offset 0 the add is exact, so every rule of the spec has this form.
            float x = offset + scale * UniformPm1(seed, i);
            bits[i] = BitConverter.HalfToUInt16Bits((Half)x);
        }
    }

    /// <summary>The spec's rule table as x = offset + scale * v, first matching rule wins.</summary>
    private static (float Scale, float Offset) Affine(string name, int[] shape)
    {
        if (name.EndsWith("positional_encoding_gaussian_matrix", StringComparison.Ordinal)) return (1f, 0f);
        // BatchNorm variances (MobileSAM) must stay positive: 1 + 0.1 v, like a LayerNorm scale.
        if (name.EndsWith("running_var", StringComparison.Ordinal)) return (0.1f, 1f);
        bool isWeight = name.EndsWith(".weight", StringComparison.Ordinal);
        if (shape.Length == 1) return isWeight ? (0.1f, 1f) : (0.02f, 0f); // LayerNorm scales : biases
        if (EmbeddingNames.Contains(name)) return (1f, 0f);
        if (isWeight)
        {
            long fanIn = 1;
            for (int d = 1; d < shape.Length; d++) fanIn *= shape[d];
            return ((float)Math.Sqrt(3.0 / fanIn), 0f);
        }
        return (0.02f, 0f); // pos_embed, rel_pos_h, rel_pos_w; SAM 2.x's pos_embed_window, no_mem_embed; MobileSAM's running_mean, attention_biases
    }
}

/// <summary>
/// A weight source that generates every requested tensor on demand with the requested shape. Its
/// <see cref="Names"/> are the names requested so far, so strict loading passes; <see cref="Generated"/>
/// keeps the parameters in request order so a caller can write them out.
/// </summary>
public sealed class GeneratedWeightSource : IWeightSource
{
    private readonly OrderedDictionary<string, Parameter> _generated = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Creates a source for model seed <paramref name="seed"/> (0 is canonical).</summary>
    public GeneratedWeightSource(ulong seed) => Seed = seed;

    /// <summary>The model seed.</summary>
    public ulong Seed { get; }

    /// <summary>Every parameter generated so far, in request order.</summary>
    public IReadOnlyDictionary<string, Parameter> Generated => _generated;

    /// <inheritdoc/>
    public IEnumerable<string> Names
    {
        get { lock (_lock) return _generated.Keys.ToList(); }
    }

    /// <inheritdoc/>
    public Parameter Get(string name, int[] shape)
    {
        lock (_lock)
        {
            if (_generated.TryGetValue(name, out var p) && p.Shape.AsSpan().SequenceEqual(shape)) return p;
        }
        var param = new Parameter(name, (int[])shape.Clone(), GeneratedWeights.Generate(name, shape, Seed));
        lock (_lock) _generated[name] = param;
        return param;
    }
}
