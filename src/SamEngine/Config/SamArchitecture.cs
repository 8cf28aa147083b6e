using System.Text.Json;
using System.Text.Json.Nodes;

namespace SamEngine.Config;

/// <summary>
/// The hyper-parameters of one SAM model: the keys of the <c>architecture</c> field of a fixture's
/// <c>cases.json</c>. Everything the model code needs to know about sizes comes from here.
/// </summary>
public sealed record SamArchitecture
{
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

    /// <summary>Side of the image embedding grid (img_size / patch_size).</summary>
    public int GridSize => ImgSize / PatchSize;
    /// <summary>Side of the low-resolution mask (4 x the grid).</summary>
    public int LowResSize => GridSize * 4;
    /// <summary>Number of mask tokens of the decoder.</summary>
    public int NumMaskTokens => NumMultimaskOutputs + 1;

    /// <summary>The official ViT-B configuration.</summary>
    public static SamArchitecture VitB => new();
    /// <summary>The official ViT-L configuration.</summary>
    public static SamArchitecture VitL => new() { EmbedDim = 1024, Depth = 24, NumHeads = 16, GlobalAttnIndexes = [5, 11, 17, 23] };
    /// <summary>The official ViT-H configuration.</summary>
    public static SamArchitecture VitH => new() { EmbedDim = 1280, Depth = 32, NumHeads = 16, GlobalAttnIndexes = [7, 15, 23, 31] };

    /// <summary>The preset names accepted by <see cref="FromPreset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["vit_b", "vit_l", "vit_h"];

    /// <summary>Returns a preset by name (<c>vit_b</c>, <c>vit_l</c>, <c>vit_h</c>).</summary>
    public static SamArchitecture FromPreset(string name) => name switch
    {
        "vit_b" => VitB,
        "vit_l" => VitL,
        "vit_h" => VitH,
        _ => throw new ArgumentException($"unknown architecture preset '{name}' (expected one of {string.Join(", ", PresetNames)})"),
    };

    /// <summary>Validates internal consistency; throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public SamArchitecture Validate()
    {
        void Need(bool ok, string what) { if (!ok) throw new ArgumentException($"invalid architecture: {what}"); }
        Need(PatchSize > 0 && ImgSize > 0 && ImgSize % PatchSize == 0, $"img_size {ImgSize} must be a positive multiple of patch_size {PatchSize}");
        Need(EmbedDim > 0 && NumHeads > 0 && EmbedDim % NumHeads == 0, $"embed_dim {EmbedDim} must be divisible by num_heads {NumHeads}");
        Need(Depth > 0, "depth must be positive");
        Need(WindowSize > 0, "window_size must be positive");
        Need(GlobalAttnIndexes.All(i => i >= 0 && i < Depth), "global_attn_indexes must lie in [0, depth)");
        Need(PromptEmbedDim > 0 && PromptEmbedDim % 8 == 0 && PromptEmbedDim % 4 == 0, $"prompt_embed_dim {PromptEmbedDim} must be a multiple of 8");
        Need(DecoderHeads > 0 && (PromptEmbedDim / 2) % DecoderHeads == 0, $"prompt_embed_dim/2 must be divisible by decoder_heads {DecoderHeads}");
        Need(DecoderDepth > 0 && DecoderMlpDim > 0 && MaskInChans > 0 && IouHeadHiddenDim > 0, "decoder sizes must be positive");
        Need(NumMultimaskOutputs > 0, "num_multimask_outputs must be positive");
        return this;
    }

    /// <summary>
    /// Parses a JSON architecture: an object with the keys of <c>cases.json</c>'s <c>architecture</c>
    /// field, or a whole <c>cases.json</c>. Unknown keys are rejected (except <c>image_hw</c>).
    /// </summary>
    public static SamArchitecture FromJson(string json)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new ArgumentException($"architecture JSON is not valid JSON: {e.Message}"); }
        if (root is not JsonObject obj) throw new ArgumentException("architecture JSON must be an object");
        if (obj["architecture"] is JsonObject inner) obj = inner;
        var a = new SamArchitecture();
        foreach (var (key, value) in obj)
        {
            int I() => value is JsonValue v && v.TryGetValue(out int x) ? x
                : throw new ArgumentException($"architecture key '{key}' must be an integer");
            a = key switch
            {
                "img_size" => a with { ImgSize = I() },
                "patch_size" => a with { PatchSize = I() },
                "embed_dim" => a with { EmbedDim = I() },
                "depth" => a with { Depth = I() },
                "num_heads" => a with { NumHeads = I() },
                "global_attn_indexes" => a with
                {
                    GlobalAttnIndexes = value is JsonArray arr
                        ? arr.Select(n => n is JsonValue v && v.TryGetValue(out int x) ? x : throw new ArgumentException("global_attn_indexes must hold integers")).ToArray()
                        : throw new ArgumentException("global_attn_indexes must be an array"),
                },
                "window_size" => a with { WindowSize = I() },
                "prompt_embed_dim" => a with { PromptEmbedDim = I() },
                "decoder_depth" => a with { DecoderDepth = I() },
                "decoder_heads" => a with { DecoderHeads = I() },
                "decoder_mlp_dim" => a with { DecoderMlpDim = I() },
                "mask_in_chans" => a with { MaskInChans = I() },
                "iou_head_hidden_dim" => a with { IouHeadHiddenDim = I() },
                "num_multimask_outputs" => a with { NumMultimaskOutputs = I() },
                "image_hw" => a,
                _ => throw new ArgumentException($"unknown architecture key '{key}'"),
            };
        }
        return a.Validate();
    }

    /// <summary>Serialises to the JSON form read by <see cref="FromJson"/>.</summary>
    public string ToJson() => new JsonObject
    {
        ["img_size"] = ImgSize, ["patch_size"] = PatchSize, ["embed_dim"] = EmbedDim, ["depth"] = Depth,
        ["num_heads"] = NumHeads, ["global_attn_indexes"] = new JsonArray(GlobalAttnIndexes.Select(i => (JsonNode)i).ToArray()),
        ["window_size"] = WindowSize, ["prompt_embed_dim"] = PromptEmbedDim, ["decoder_depth"] = DecoderDepth,
        ["decoder_heads"] = DecoderHeads, ["decoder_mlp_dim"] = DecoderMlpDim, ["mask_in_chans"] = MaskInChans,
        ["iou_head_hidden_dim"] = IouHeadHiddenDim, ["num_multimask_outputs"] = NumMultimaskOutputs,
    }.ToJsonString();

    /// <summary>Records compare arrays by reference; compare by value instead.</summary>
    public bool Equals(SamArchitecture? o) => o is not null && ToJson() == o.ToJson();

    /// <inheritdoc />
    public override int GetHashCode() => ToJson().GetHashCode();
}
