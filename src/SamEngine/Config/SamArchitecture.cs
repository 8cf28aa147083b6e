using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace SamEngine.Config;

/// <summary>The model families SamEngine runs.</summary>
public enum ModelFamily
{
    /// <summary>SAM 1 (<c>segment_anything</c>): a ViT image encoder.</summary>
    Sam,
    /// <summary>SAM 2.1 on images (<c>sam2</c>): a Hiera trunk with an FPN neck, a decoder with high-resolution skips and an object score.</summary>
    Sam2,
}

/// <summary>
/// The hyper-parameters of one SAM model: the keys of the <c>architecture</c> field of a fixture's
/// <c>cases.json</c>. Everything the model code needs to know about sizes comes from here. SAM 1 keeps
/// its ViT sizes at the top level; SAM 2.1 (<c>"family": "sam2"</c>) has none of them and describes its
/// trunk under <c>hiera</c> instead, with the same prompt-encoder and decoder keys.
/// </summary>
public sealed record SamArchitecture
{
    /// <summary>The model family: <c>sam</c> (the default) or <c>sam2</c>.</summary>
    public ModelFamily Family { get; init; } = ModelFamily.Sam;
    /// <summary>The Hiera trunk of a SAM 2.1 model; null for SAM 1.</summary>
    public HieraArchitecture? Hiera { get; init; }
    /// <summary>
    /// MobileSAM's TinyViT image encoder, which replaces SAM 1's ViT (family sam: the prompt encoder, the
    /// decoder and the predictor are SAM 1's); null for the ViT.
    /// </summary>
    public TinyVitArchitecture? TinyVit { get; init; }

    /// <summary>Square input size of the image encoder (1024 for the official models).</summary>
    public int ImgSize { get; init; } = 1024;
    /// <summary>Patch size of the patch embedding.</summary>
    public int PatchSize { get; init; } = 16;
    /// <summary>ViT embedding dimension.</summary>
    public int EmbedDim { get; init; } = 768;
    /// <summary>Number of ViT blocks.</summary>
    public int Depth { get; init; } = 12;
    /// <summary>Attention heads of the ViT.</summary>
    public int NumHeads { get; init; } = 12;
    /// <summary>Indexes of the blocks that attend globally; the others attend within windows.</summary>
    public int[] GlobalAttnIndexes { get; init; } = [2, 5, 8, 11];
    /// <summary>Window size of the windowed blocks.</summary>
    public int WindowSize { get; init; } = 14;
    /// <summary>Channel dimension of the image embedding and of the prompt tokens.</summary>
    public int PromptEmbedDim { get; init; } = 256;
    /// <summary>Number of two-way transformer blocks.</summary>
    public int DecoderDepth { get; init; } = 2;
    /// <summary>Attention heads of the two-way transformer.</summary>
    public int DecoderHeads { get; init; } = 8;
    /// <summary>Hidden size of the two-way transformer MLP.</summary>
    public int DecoderMlpDim { get; init; } = 2048;
    /// <summary>Hidden channels of the mask-downscaling convs.</summary>
    public int MaskInChans { get; init; } = 16;
    /// <summary>Hidden size of the IoU prediction head.</summary>
    public int IouHeadHiddenDim { get; init; } = 256;
    /// <summary>Number of multimask outputs (the decoder predicts one more).</summary>
    public int NumMultimaskOutputs { get; init; } = 3;

    /// <summary>Stride of the image embedding: patch_size for SAM 1; SAM 2.1's embedding is Hiera's third stage (stride 16).</summary>
    public int EmbeddingStride => Family == ModelFamily.Sam2 || TinyVit is not null ? 16 : PatchSize;
    /// <summary>Side of the image embedding grid (img_size / its stride).</summary>
    public int GridSize => ImgSize / EmbeddingStride;
    /// <summary>Side of the low-resolution mask (4 x the grid).</summary>
    public int LowResSize => GridSize * 4;
    /// <summary>Number of mask tokens of the decoder.</summary>
    public int NumMaskTokens => NumMultimaskOutputs + 1;

    /// <summary>
    /// The largest value <see cref="Validate"/> accepts for each size: several times the official
    /// ViT-H's (in brackets), so that any real SAM variant fits while an architecture read from a file
    /// cannot overflow a tensor length or make the model allocate without bound. At the limits the
    /// largest encoder activation, tokens x 4·embed_dim = 128² x 16384, is 2^28 values.
    /// </summary>
    public static class Limits
    {
        /// <summary>img_size (1024).</summary>
        public const int ImgSize = 4096;
        /// <summary>patch_size (16).</summary>
        public const int PatchSize = 64;
        /// <summary>img_size / patch_size, the side of the token grid (64).</summary>
        public const int GridSize = 128;
        /// <summary>embed_dim (1280).</summary>
        public const int EmbedDim = 4096;
        /// <summary>depth (32).</summary>
        public const int Depth = 128;
        /// <summary>num_heads and decoder_heads (16, 8).</summary>
        public const int Heads = 128;
        /// <summary>window_size (14).</summary>
        public const int WindowSize = 128;
        /// <summary>prompt_embed_dim (256).</summary>
        public const int PromptEmbedDim = 2048;
        /// <summary>decoder_depth (2).</summary>
        public const int DecoderDepth = 32;
        /// <summary>decoder_mlp_dim (2048).</summary>
        public const int DecoderMlpDim = 16384;
        /// <summary>mask_in_chans (16).</summary>
        public const int MaskInChans = 1024;
        /// <summary>iou_head_hidden_dim (256).</summary>
        public const int IouHeadHiddenDim = 4096;
        /// <summary>num_multimask_outputs (3).</summary>
        public const int NumMultimaskOutputs = 16;
    }

    /// <summary>The official ViT-B configuration.</summary>
    public static SamArchitecture VitB => new();
    /// <summary>The official ViT-L configuration.</summary>
    public static SamArchitecture VitL => new() { EmbedDim = 1024, Depth = 24, NumHeads = 16, GlobalAttnIndexes = [5, 11, 17, 23] };
    /// <summary>The official ViT-H configuration.</summary>
    public static SamArchitecture VitH => new() { EmbedDim = 1280, Depth = 32, NumHeads = 16, GlobalAttnIndexes = [7, 15, 23, 31] };

    /// <summary>
    /// A SAM 2.1 configuration from the values of the official <c>sam2.1_hiera_*.yaml</c>; the prompt
    /// encoder and decoder sizes are those <c>SAM2Base</c> fixes (the SAM 1 defaults).
    /// </summary>
    private static SamArchitecture Sam2(HieraArchitecture hiera) => new() { Family = ModelFamily.Sam2, Hiera = hiera };

    /// <summary>The official SAM 2.1 Hiera-T configuration (<c>sam2.1_hiera_t.yaml</c>).</summary>
    public static SamArchitecture Sam21HieraT => Sam2(new() { EmbedDim = 96, NumHeads = 1, Stages = [1, 2, 7, 2], GlobalAttBlocks = [5, 7, 9] });
    /// <summary>The official SAM 2.1 Hiera-S configuration.</summary>
    public static SamArchitecture Sam21HieraS => Sam2(new() { EmbedDim = 96, NumHeads = 1, Stages = [1, 2, 11, 2], GlobalAttBlocks = [7, 10, 13] });
    /// <summary>The official SAM 2.1 Hiera-B+ configuration (Hiera's defaults but for the width).</summary>
    public static SamArchitecture Sam21HieraBPlus => Sam2(new()
    {
        EmbedDim = 112, NumHeads = 2, Stages = [2, 3, 16, 3], GlobalAttBlocks = [12, 16, 20], WindowPosEmbedBkgSpatialSize = [14, 14],
    });
    /// <summary>The official SAM 2.1 Hiera-L configuration.</summary>
    public static SamArchitecture Sam21HieraL => Sam2(new()
    {
        EmbedDim = 144, NumHeads = 2, Stages = [2, 6, 36, 4], GlobalAttBlocks = [23, 33, 43], WindowSpec = [8, 4, 16, 8],
    });

    /// <summary>
    /// MobileSAM (<c>build_sam_vit_t</c>): the TinyViT-5M encoder with SAM 1's prompt encoder and decoder at
    /// their official sizes.
    /// </summary>
    public static SamArchitecture MobileSam => new() { TinyVit = new() };

    /// <summary>The preset names accepted by <see cref="FromPreset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } =
        ["vit_b", "vit_l", "vit_h", "sam2.1_hiera_t", "sam2.1_hiera_s", "sam2.1_hiera_b+", "sam2.1_hiera_l", "mobile_sam"];

    /// <summary>Returns a preset by name (one of <see cref="PresetNames"/>).</summary>
    public static SamArchitecture FromPreset(string name) => name switch
    {
        "vit_b" => VitB,
        "vit_l" => VitL,
        "vit_h" => VitH,
        "sam2.1_hiera_t" => Sam21HieraT,
        "sam2.1_hiera_s" => Sam21HieraS,
        "sam2.1_hiera_b+" => Sam21HieraBPlus,
        "sam2.1_hiera_l" => Sam21HieraL,
        "mobile_sam" => MobileSam,
        _ => throw new ArgumentException($"unknown architecture preset '{name}' (expected one of {string.Join(", ", PresetNames)})"),
    };

    /// <summary>
    /// Validates every size against <see cref="Limits"/> and the sizes' consistency; throws
    /// <see cref="ArgumentException"/> naming the bad field.
    /// </summary>
    public SamArchitecture Validate()
    {
        void Need(bool ok, string what) { if (!ok) throw new ArgumentException($"invalid architecture: {what}"); }
        void InRange(int value, int max, string key) => Need(value > 0 && value <= max, $"{key} {value} must lie in [1, {max}]");
        InRange(ImgSize, Limits.ImgSize, "img_size");
        Need(Enum.IsDefined(Family), $"family {Family} is not a model family");
        if (Family == ModelFamily.Sam2)
        {
            Need(Hiera is not null, "family sam2 needs its trunk under 'hiera'");
            Need(TinyVit is null, "'tiny_vit' (MobileSAM) goes with family sam, not sam2");
            Hiera!.Validate(Need);
            // Three stride-2 poolings of the stride-4 grid, and an FPN that doubles each level exactly.
            Need(ImgSize % 32 == 0, $"img_size {ImgSize} must be a multiple of 32 for a Hiera trunk");
            Need(ImgSize / HieraArchitecture.PatchStride % Hiera.WindowSpec[0] == 0,
                $"img_size / 4 = {ImgSize / HieraArchitecture.PatchStride} must be a multiple of hiera.window_spec[0] {Hiera.WindowSpec[0]} (the window position embedding is tiled over it)");
            Need(GridSize <= Limits.GridSize, $"img_size / 16 = {GridSize} must be at most {Limits.GridSize}");
        }
        else if (TinyVit is not null)
        {
            Need(Hiera is null, "'hiera' is a SAM 2.1 key: it needs \"family\": \"sam2\"");
            TinyVit.Validate(Need, ImgSize);
            Need(PromptEmbedDim == TinyVitArchitecture.NeckChannels, $"prompt_embed_dim {PromptEmbedDim} must be {TinyVitArchitecture.NeckChannels}: TinyViT's neck is fixed at that width");
            Need(GridSize <= Limits.GridSize, $"img_size / 16 = {GridSize} must be at most {Limits.GridSize}");
        }
        else
        {
            Need(Hiera is null, "'hiera' is a SAM 2.1 key: it needs \"family\": \"sam2\"");
            InRange(PatchSize, Limits.PatchSize, "patch_size");
            Need(ImgSize % PatchSize == 0, $"img_size {ImgSize} must be a positive multiple of patch_size {PatchSize}");
            Need(GridSize <= Limits.GridSize, $"img_size / patch_size = {GridSize} must be at most {Limits.GridSize}");
            InRange(EmbedDim, Limits.EmbedDim, "embed_dim");
            InRange(NumHeads, Limits.Heads, "num_heads");
            Need(EmbedDim % NumHeads == 0, $"embed_dim {EmbedDim} must be divisible by num_heads {NumHeads}");
            InRange(Depth, Limits.Depth, "depth");
            InRange(WindowSize, Limits.WindowSize, "window_size");
            Need(GlobalAttnIndexes is not null && GlobalAttnIndexes.All(i => i >= 0 && i < Depth), "global_attn_indexes must lie in [0, depth)");
        }
        InRange(PromptEmbedDim, Limits.PromptEmbedDim, "prompt_embed_dim");
        Need(PromptEmbedDim % 8 == 0, $"prompt_embed_dim {PromptEmbedDim} must be a multiple of 8");
        InRange(DecoderHeads, Limits.Heads, "decoder_heads");
        Need((PromptEmbedDim / 2) % DecoderHeads == 0, $"prompt_embed_dim/2 must be divisible by decoder_heads {DecoderHeads}");
        InRange(DecoderDepth, Limits.DecoderDepth, "decoder_depth");
        InRange(DecoderMlpDim, Limits.DecoderMlpDim, "decoder_mlp_dim");
        InRange(MaskInChans, Limits.MaskInChans, "mask_in_chans");
        InRange(IouHeadHiddenDim, Limits.IouHeadHiddenDim, "iou_head_hidden_dim");
        InRange(NumMultimaskOutputs, Limits.NumMultimaskOutputs, "num_multimask_outputs");
        return this;
    }

    /// <summary>
    /// The JSON form: the settable properties under the official argument names (snake case), integers
    /// only (no strings, fractions or exponents), every key known, none twice.
    /// </summary>
    private static readonly JsonSerializerOptions JsonForm = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        AllowDuplicateProperties = false,
        Converters = { new JsonStringEnumConverter<ModelFamily>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { SettableOnly, FamilyKeysOnly } },
    };

    /// <summary>The keys of SAM 1's ViT encoder, which a SAM 2.1 architecture has no use for.</summary>
    private static readonly string[] VitKeys = ["patch_size", "embed_dim", "depth", "num_heads", "global_attn_indexes", "window_size"];

    /// <summary>
    /// Writes each family's own keys only: SAM 1's form stays as it always was (no <c>family</c>, no
    /// <c>hiera</c>), SAM 2.1's has no ViT keys.
    /// </summary>
    private static void FamilyKeysOnly(JsonTypeInfo type)
    {
        if (type.Type != typeof(SamArchitecture)) return;
        foreach (var p in type.Properties)
        {
            if (p.Name == "family") p.ShouldSerialize = (o, _) => ((SamArchitecture)o).Family != ModelFamily.Sam;
            else if (p.Name == "hiera") p.ShouldSerialize = (o, _) => ((SamArchitecture)o).Hiera is not null;
            else if (p.Name == "tiny_vit") p.ShouldSerialize = (o, _) => ((SamArchitecture)o).TinyVit is not null;
            else if (VitKeys.Contains(p.Name)) p.ShouldSerialize = (o, _) => o is SamArchitecture { Family: ModelFamily.Sam, TinyVit: null };
        }
    }

    /// <summary>
    /// Drops the derived sizes (<see cref="GridSize"/>...) from the form altogether: an ignored property
    /// would still be accepted, silently, as a key on input.
    /// </summary>
    private static void SettableOnly(JsonTypeInfo type)
    {
        if (type.Kind != JsonTypeInfoKind.Object) return;
        foreach (var p in type.Properties.Where(p => p.Set is null).ToList()) type.Properties.Remove(p);
    }

    /// <summary>
    /// Parses a JSON architecture: an object with the keys of <c>cases.json</c>'s <c>architecture</c>
    /// field, or a whole <c>cases.json</c>. Missing keys keep the ViT-B values; unknown keys are rejected
    /// (except <c>image_hw</c>, a fixture's image size); the result is <see cref="Validate"/>d.
    /// </summary>
    public static SamArchitecture FromJson(string json)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }); }
        catch (JsonException e) { throw new ArgumentException($"architecture JSON is not valid JSON: {e.Message}"); }
        if (root is not JsonObject obj) throw new ArgumentException("architecture JSON must be an object");
        if (obj["architecture"] is JsonObject inner) obj = inner;
        obj.Remove("image_hw");
        if (obj["family"] is JsonValue family && family.TryGetValue(out string? name) && name == "sam2"
            && VitKeys.FirstOrDefault(obj.ContainsKey) is { } vitKey)
            throw new ArgumentException($"architecture key '{vitKey}' is SAM 1's (ViT); a sam2 architecture describes its trunk under 'hiera'");
        if (obj["tiny_vit"] is not null && VitKeys.FirstOrDefault(obj.ContainsKey) is { } vitKey2)
            throw new ArgumentException($"architecture key '{vitKey2}' is SAM 1's (ViT); a MobileSAM architecture describes its encoder under 'tiny_vit'");
        SamArchitecture? a;
        try { a = obj.Deserialize<SamArchitecture>(JsonForm); }
        catch (JsonException e) { throw new ArgumentException(KeyError(e)); }
        return (a ?? throw new ArgumentException("architecture JSON must be an object")).Validate();
    }

    /// <summary>A deserialisation error as one line naming the key (the first step of the error's JSON path).</summary>
    private static string KeyError(JsonException e)
    {
        var path = (e.Path ?? "$").TrimStart('$', '.').Split('.', '[');
        string key = path[0];
        var type = typeof(SamArchitecture);
        string group = path[0];
        if (group == "hiera" && path.Length > 1 && path[1].Length > 0) (key, type) = (path[1], typeof(HieraArchitecture));
        if (group == "tiny_vit" && path.Length > 1 && path[1].Length > 0) (key, type) = (path[1], typeof(TinyVitArchitecture));
        var property = JsonForm.GetTypeInfo(type).Properties.FirstOrDefault(p => p.Name == key);
        string shown = type == typeof(SamArchitecture) ? key : $"{group}.{key}";
        return key.Length == 0 ? $"architecture JSON is not valid: {e.Message}"
            : property is null ? $"unknown architecture key '{shown}'"
            : property.PropertyType == typeof(int[]) ? $"architecture key '{shown}' must be an array of integers"
            : property.PropertyType == typeof(ModelFamily) ? $"architecture key 'family' must be \"sam\" or \"sam2\""
            : property.PropertyType == typeof(HieraArchitecture) ? "architecture key 'hiera' must be an object"
            : property.PropertyType == typeof(TinyVitArchitecture) ? "architecture key 'tiny_vit' must be an object"
            : $"architecture key '{shown}' must be an integer";
    }

    /// <summary>Serialises to the JSON form read by <see cref="FromJson"/>.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonForm);

    /// <summary>Records compare arrays by reference; compare by value instead.</summary>
    public bool Equals(SamArchitecture? o) => o is not null && ToJson() == o.ToJson();

    /// <inheritdoc />
    public override int GetHashCode() => ToJson().GetHashCode();
}
