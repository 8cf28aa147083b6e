using System.Text.RegularExpressions;

namespace SamEngine.Checkpoints;

/// <summary>
/// Maps the Hugging Face <c>transformers</c> <c>SamModel</c> state-dict names (<c>vision_encoder.*</c>,
/// <c>prompt_encoder.*</c>, <c>mask_decoder.*</c>, e.g. <c>facebook/sam-vit-base</c>) back to the
/// official segment-anything names. The renames undo those of transformers'
/// <c>models/sam/convert_sam_to_hf.py</c>.
/// </summary>
public static partial class HuggingFaceNames
{
    /// <summary>
    /// HF keeps the positional-encoding matrix twice (tied); this top-level copy is dropped when the
    /// prompt encoder's copy is in the file, and used when it is the only one.
    /// </summary>
    public const string SharedImageEmbedding = "shared_image_embedding.positional_embedding";

    /// <summary>The prompt encoder's own copy of the positional-encoding matrix.</summary>
    public const string PromptEncoderPositionalEmbedding = "prompt_encoder.shared_embedding.positional_embedding";

    /// <summary>Whether the names look like the Hugging Face naming.</summary>
    public static bool IsHuggingFace(IEnumerable<string> names) =>
        names.Any(n => n.StartsWith("vision_encoder.", StringComparison.Ordinal) || n == SharedImageEmbedding);

    /// <summary>
    /// The official name for a Hugging Face name, or null for the duplicated
    /// <see cref="SharedImageEmbedding"/> when <paramref name="promptEncoderHasCopy"/>.
    /// </summary>
    public static string? ToOfficial(string hf, bool promptEncoderHasCopy = true)
    {
        if (hf == SharedImageEmbedding)
            return promptEncoderHasCopy ? null : "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix";
        string n = hf;
        if (n.StartsWith("vision_encoder.", StringComparison.Ordinal))
        {
            n = "image_encoder." + n["vision_encoder.".Length..];
            n = n.Replace("patch_embed.projection", "patch_embed.proj")
                 .Replace("neck.conv1", "neck.0").Replace("neck.layer_norm1", "neck.1")
                 .Replace("neck.conv2", "neck.2").Replace("neck.layer_norm2", "neck.3");
            n = VisionLayer().Replace(n, "image_encoder.blocks.$1.");
        }
        else if (n.StartsWith("prompt_encoder.", StringComparison.Ordinal))
        {
            n = n.Replace("shared_embedding.positional_embedding", "pe_layer.positional_encoding_gaussian_matrix")
                 .Replace("prompt_encoder.point_embed.", "prompt_encoder.point_embeddings.")
                 .Replace("mask_embed.conv1", "mask_downscaling.0").Replace("mask_embed.layer_norm1", "mask_downscaling.1")
                 .Replace("mask_embed.conv2", "mask_downscaling.3").Replace("mask_embed.layer_norm2", "mask_downscaling.4")
                 .Replace("mask_embed.conv3", "mask_downscaling.6");
        }
        else if (n.StartsWith("mask_decoder.", StringComparison.Ordinal))
        {
            n = n.Replace("mask_decoder.upscale_conv1", "mask_decoder.output_upscaling.0")
                 .Replace("mask_decoder.upscale_layer_norm", "mask_decoder.output_upscaling.1")
                 .Replace("mask_decoder.upscale_conv2", "mask_decoder.output_upscaling.3");
            // The three-layer MLP heads: HF proj_in / layers.0 / proj_out = official layers.0 / 1 / 2.
            n = MlpHead().Replace(n, m => m.Groups[1].Value + (m.Groups[2].Value switch
            {
                "proj_in" => "layers.0",
                "layers.0" => "layers.1",
                "proj_out" => "layers.2",
                var other => other,
            }));
        }
        // HF renamed every '.norm' to '.layer_norm' (block norms, transformer norms, norm_final_attn).
        return n.Replace(".layer_norm", ".norm");
    }

    [GeneratedRegex(@"^image_encoder\.layers\.(\d+)\.")]
    private static partial Regex VisionLayer();

    [GeneratedRegex(@"^(mask_decoder\.(?:iou_prediction_head|output_hypernetworks_mlps\.\d+)\.)(proj_in|layers\.0|proj_out)")]
    private static partial Regex MlpHead();
}
