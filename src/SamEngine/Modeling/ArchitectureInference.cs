using SamEngine.Config;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// Recognises the official presets from tensor shapes. Head counts are not visible in shapes, so
/// only checkpoints whose encoder matches a preset exactly are recognised; others need --arch.
/// </summary>
internal static class ArchitectureInference
{
    /// <summary>The preset whose shapes these are, or null; <paramref name="shapes"/> maps tensor names to shapes.</summary>
    public static SamArchitecture? FromShapes(IReadOnlyDictionary<string, int[]> shapes)
    {
        if (shapes.ContainsKey(HieraPatchEmbed)) return FromHieraShapes(shapes);
        if (shapes.ContainsKey(TinyVitStem)) return FromTinyVitShapes(shapes);
        // The shapes come from a file: a tensor of the wrong rank means no preset, never an index error.
        if (!shapes.TryGetValue("image_encoder.patch_embed.proj.weight", out var patch) || patch.Length == 0) return null;
        int embed = patch[0];
        int depth = 0;
        while (shapes.ContainsKey($"image_encoder.blocks.{depth}.norm1.weight")) depth++;
        foreach (var name in SamArchitecture.PresetNames)
        {
            var a = SamArchitecture.FromPreset(name);
            if (a.EmbedDim != embed || a.Depth != depth) continue;
            bool globalsMatch = Enumerable.Range(0, depth).All(i =>
                shapes.TryGetValue($"image_encoder.blocks.{i}.attn.rel_pos_h", out var rp)
                && rp.Length > 0 && rp[0] == 2 * (a.GlobalAttnIndexes.Contains(i) ? a.GridSize : a.WindowSize) - 1);
            if (globalsMatch) return a;
        }
        return null;
    }

    private const string HieraPatchEmbed = "image_encoder.trunk.patch_embed.proj.weight";
    private const string TinyVitStem = "image_encoder.patch_embed.seq.0.c.weight";

    /// <summary>
    /// The MobileSAM preset when the TinyViT's shapes are its own: each stage's width (its merge's or the
    /// last block's), its block count, and from each attention's biases [heads, w²] its heads and window.
    /// </summary>
    private static SamArchitecture? FromTinyVitShapes(IReadOnlyDictionary<string, int[]> shapes)
    {
        var preset = SamArchitecture.MobileSam;
        var t = preset.TinyVit!;
        for (int s = 0; s < t.StageCount; s++)
        {
            int blocks = 0;
            while (shapes.Keys.Any(k => k.StartsWith($"image_encoder.layers.{s}.blocks.{blocks}.", StringComparison.Ordinal))) blocks++;
            if (blocks != t.Depths[s]) return null;
            string probe = s == 0 ? "image_encoder.layers.0.blocks.0.conv3.c.weight" : $"image_encoder.layers.{s}.blocks.0.attn.qkv.weight";
            if (!shapes.TryGetValue(probe, out var w) || w.Length < 1 || w[0] != (s == 0 ? 1 : 3) * t.EmbedDims[s]) return null;
            if (s > 0 && (!shapes.TryGetValue($"image_encoder.layers.{s}.blocks.0.attn.attention_biases", out var ab)
                || ab is not [int heads, int offsets] || heads != t.NumHeads[s] || offsets != t.WindowSizes[s] * t.WindowSizes[s])) return null;
        }
        return shapes.TryGetValue("mask_decoder.iou_token.weight", out var iou) && iou is [_, 256] ? preset : null;
    }
    private const string TrunkBlocks = "image_encoder.trunk.blocks.";

    /// <summary>N of a tensor named <c>image_encoder.trunk.blocks.N.*</c>, else -1.</summary>
    private static int TrunkBlockIndex(string name)
    {
        if (!name.StartsWith(TrunkBlocks, StringComparison.Ordinal)) return -1;
        int dot = name.IndexOf('.', TrunkBlocks.Length);
        return dot > 0 && int.TryParse(name.AsSpan(TrunkBlocks.Length, dot - TrunkBlocks.Length), System.Globalization.NumberStyles.None, null, out int i) ? i : -1;
    }

    /// <summary>
    /// The SAM 2.1 preset with these trunk shapes: the first stage's width (patch embedding), the blocks per
    /// stage (each block's MLP width is its stage's), the background position embedding's size, and the
    /// decoder's width. Window sizes and global blocks leave no trace in shapes, so only presets are told.
    /// Throws a <see cref="WeightException"/> naming the first missing block when later blocks are present.
    /// </summary>
    private static SamArchitecture? FromHieraShapes(IReadOnlyDictionary<string, int[]> shapes)
    {
        if (shapes[HieraPatchEmbed] is not [int embed, ..]) return null;
        var widths = new List<int>();
        while (shapes.TryGetValue($"image_encoder.trunk.blocks.{widths.Count}.mlp.layers.1.weight", out var w) && w is [int dim, _]) widths.Add(dim);
        // A gap in the blocks is a damaged checkpoint, not an unknown architecture: name the block.
        int last = shapes.Keys.Select(TrunkBlockIndex).DefaultIfEmpty(-1).Max();
        if (last >= widths.Count)
            throw new WeightException($"trunk block {widths.Count} is missing or incomplete (no '{TrunkBlocks}{widths.Count}.mlp.layers.1.weight'), though the checkpoint has blocks up to {TrunkBlocks}{last}.*");
        int[] stages = widths.GroupBy(w => w).Select(g => g.Count()).ToArray();
        if (!shapes.TryGetValue("image_encoder.trunk.pos_embed", out var pos) || pos is not [_, _, int ph, int pw]) return null;
        if (!shapes.TryGetValue("sam_mask_decoder.iou_token.weight", out var iou) || iou is not [_, int d]) return null;
        foreach (var name in SamArchitecture.PresetNames)
        {
            var a = SamArchitecture.FromPreset(name);
            if (a.Hiera is { } h && h.EmbedDim == embed && h.Stages.SequenceEqual(stages)
                && h.WindowPosEmbedBkgSpatialSize.SequenceEqual([ph, pw]) && a.PromptEmbedDim == d)
                return a;
        }
        return null;
    }
}
