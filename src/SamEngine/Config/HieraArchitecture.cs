namespace SamEngine.Config;

/// <summary>
/// The Hiera trunk of a SAM 2.x image encoder (<c>sam2/modeling/backbones/hieradet.py</c>), under the
/// official argument names. What every official configuration shares is fixed rather than configurable:
/// a 7x7 stride-4 patch embedding, three query-pooling stage transitions with stride 2 that double the
/// channels and heads, and an FPN neck whose lowest-resolution level is dropped (scalp 1).
/// </summary>
public sealed record HieraArchitecture
{
    /// <summary>Channels of the first stage (96 for hiera_t).</summary>
    public int EmbedDim { get; init; } = 96;
    /// <summary>Attention heads of the first stage.</summary>
    public int NumHeads { get; init; } = 1;
    /// <summary>Blocks per stage (four stages).</summary>
    public int[] Stages { get; init; } = [1, 2, 7, 2];
    /// <summary>Indexes of the blocks that attend globally.</summary>
    public int[] GlobalAttBlocks { get; init; } = [5, 7, 9];
    /// <summary>Window size per stage for the windowed blocks.</summary>
    public int[] WindowSpec { get; init; } = [8, 4, 14, 7];
    /// <summary>Size (h, w) of the background position embedding, interpolated to the stride-4 grid.</summary>
    public int[] WindowPosEmbedBkgSpatialSize { get; init; } = [7, 7];
    /// <summary>FPN levels that receive top-down (nearest-upsampled) features; level 0 is the finest.</summary>
    public int[] FpnTopDownLevels { get; init; } = [2, 3];

    /// <summary>Number of stages (always 4).</summary>
    public const int StageCount = 4;
    /// <summary>Stride of the patch embedding.</summary>
    public const int PatchStride = 4;
    /// <summary>Levels dropped from the low-resolution end of the FPN.</summary>
    public const int Scalp = 1;

    /// <summary>Total number of blocks.</summary>
    public int Depth => Stages.Sum();

    /// <summary>The stage (0-3) block <paramref name="block"/> belongs to.</summary>
    public int StageOf(int block)
    {
        int end = 0;
        for (int s = 0; s < StageCount; s++)
            if (block < (end += Stages[s])) return s;
        throw new ArgumentOutOfRangeException(nameof(block));
    }

    /// <summary>Index of the last block of stage <paramref name="stage"/>.</summary>
    public int StageEnd(int stage) => Stages.Take(stage + 1).Sum() - 1;

    /// <summary>True for the first block of stages 1-3: it pools its queries and widens the channels.</summary>
    public bool PoolsQueries(int block) => block > 0 && Enumerable.Range(0, StageCount - 1).Any(s => StageEnd(s) == block - 1);

    /// <summary>Channels of stage <paramref name="stage"/>'s output.</summary>
    public int StageDim(int stage) => EmbedDim << stage;

    /// <summary>Heads of stage <paramref name="stage"/>.</summary>
    public int StageHeads(int stage) => NumHeads << stage;

    /// <summary>
    /// The window of block <paramref name="block"/>: 0 for a global block, else the window size of the
    /// stage before the block's own for a query-pooling block (upstream's window lags by one block), its
    /// stage's otherwise.
    /// </summary>
    public int WindowOf(int block)
    {
        if (GlobalAttBlocks.Contains(block)) return 0;
        int stage = StageOf(block);
        return WindowSpec[PoolsQueries(block) ? stage - 1 : stage];
    }

    /// <summary>Checks the trunk's sizes against <see cref="SamArchitecture.Limits"/> through <paramref name="need"/>, which throws naming the key.</summary>
    internal void Validate(Action<bool, string> need)
    {
        void InRange(int value, int max, string key) => need(value > 0 && value <= max, $"hiera.{key} {value} must lie in [1, {max}]");
        need(Stages is { Length: StageCount }, $"hiera.stages must list {StageCount} stages");
        need(WindowSpec is { Length: StageCount }, $"hiera.window_spec must list {StageCount} window sizes");
        need(WindowPosEmbedBkgSpatialSize is { Length: 2 }, "hiera.window_pos_embed_bkg_spatial_size must be [h, w]");
        need(GlobalAttBlocks is not null && FpnTopDownLevels is not null, "hiera.global_att_blocks and hiera.fpn_top_down_levels must be arrays");
        InRange(EmbedDim, SamArchitecture.Limits.EmbedDim >> (StageCount - 1), "embed_dim");
        InRange(NumHeads, SamArchitecture.Limits.Heads >> (StageCount - 1), "num_heads");
        need(EmbedDim % NumHeads == 0, $"hiera.embed_dim {EmbedDim} must be divisible by hiera.num_heads {NumHeads}");
        foreach (int s in Stages) InRange(s, SamArchitecture.Limits.Depth, "stages[]");
        need(Depth <= SamArchitecture.Limits.Depth, $"hiera.stages add up to {Depth} blocks, more than {SamArchitecture.Limits.Depth}");
        foreach (int w in WindowSpec) InRange(w, SamArchitecture.Limits.WindowSize, "window_spec[]");
        foreach (int s in WindowPosEmbedBkgSpatialSize) InRange(s, SamArchitecture.Limits.GridSize, "window_pos_embed_bkg_spatial_size[]");
        need(GlobalAttBlocks!.All(i => i >= 0 && i < Depth), $"hiera.global_att_blocks must lie in [0, {Depth})");
        need(FpnTopDownLevels!.All(l => l >= 0 && l < StageCount), $"hiera.fpn_top_down_levels must lie in [0, {StageCount})");
    }
}
