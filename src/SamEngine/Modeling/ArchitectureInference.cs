using SamEngine.Config;

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
}
