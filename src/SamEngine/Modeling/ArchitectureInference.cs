using SamEngine.Config;
using SamEngine.IO;

namespace SamEngine.Modeling;

/// <summary>
/// Recognises the official presets from tensor shapes. Head counts are not visible in shapes, so
/// only checkpoints whose encoder matches a preset exactly are recognised; others need --arch.
/// </summary>
internal static class ArchitectureInference
{
    public static SamArchitecture? FromShapes(SafeTensorsFile file)
    {
        if (!file.Tensors.TryGetValue("image_encoder.patch_embed.proj.weight", out var patch)) return null;
        int embed = patch.Shape[0];
        int depth = 0;
        while (file.Tensors.ContainsKey($"image_encoder.blocks.{depth}.norm1.weight")) depth++;
        foreach (var name in SamArchitecture.PresetNames)
        {
            var a = SamArchitecture.FromPreset(name);
            if (a.EmbedDim != embed || a.Depth != depth) continue;
            bool globalsMatch = Enumerable.Range(0, depth).All(i =>
                file.Tensors.TryGetValue($"image_encoder.blocks.{i}.attn.rel_pos_h", out var rp)
                && rp.Shape[0] == 2 * (a.GlobalAttnIndexes.Contains(i) ? a.GridSize : a.WindowSize) - 1);
            if (globalsMatch) return a;
        }
        return null;
    }
}
