namespace SamEngine.Checkpoints;

/// <summary>
/// The tensors of an official SAM 2.x checkpoint that only video tracking uses (<c>SAM2Base</c>'s memory
/// attention and encoder, memory position encodings, object pointers), by their state-dict names: the
/// image path ignores them, and names them in one line.
/// </summary>
public static class Sam2VideoTensors
{
    /// <summary>Module prefixes and parameter names of the video-only parts.</summary>
    private static readonly string[] Groups =
    [
        "memory_attention", "memory_encoder", "maskmem_tpos_enc", "no_mem_pos_enc", "no_obj_ptr", "no_obj_embed_spatial",
        "obj_ptr_proj", "obj_ptr_tpos_proj", "mask_downsample",
    ];

    /// <summary>Whether <paramref name="name"/> belongs to a video-only part.</summary>
    public static bool IsVideoOnly(string name) => GroupOf(name) is not null;

    /// <summary>The group (the top-level name) of a video-only tensor, else null.</summary>
    private static string? GroupOf(string name) =>
        Groups.FirstOrDefault(g => name == g || name.StartsWith(g + ".", StringComparison.Ordinal));

    /// <summary>One line naming the ignored groups with their tensor counts, or null when there were none.</summary>
    public static string? Notice(IReadOnlyList<string> ignored)
    {
        if (ignored.Count == 0) return null;
        var groups = ignored.GroupBy(n => GroupOf(n)!).Select(g => g.Count() == 1 && g.Key == g.First() ? g.Key : $"{g.Key}.* ({g.Count()})");
        return $"ignored {ignored.Count} video-only tensors of SAM 2.x: {string.Join(", ", groups)}";
    }
}
