namespace SamEngine.Config;

/// <summary>
/// The TinyViT image encoder of MobileSAM (<c>mobile_sam/modeling/tiny_vit_sam.py</c>, <c>TinyViT</c>),
/// under the official argument names. What <c>build_sam_vit_t</c> fixes stays fixed: a conv stem of two
/// 3x3 stride-2 convs, stage 0 of MBConv blocks (expand ratio 4), the other stages of TinyViT blocks
/// (window attention with attention biases, a 3x3 depthwise local conv, MLP ratio 4), a PatchMerging
/// between stages, and SAM's neck to 256 channels.
/// </summary>
public sealed record TinyVitArchitecture
{
    /// <summary>Channels per stage (TinyViT-5M: 64, 128, 160, 320).</summary>
    public int[] EmbedDims { get; init; } = [64, 128, 160, 320];
    /// <summary>Blocks per stage.</summary>
    public int[] Depths { get; init; } = [2, 2, 6, 2];
    /// <summary>Attention heads per stage (stage 0, of MBConv blocks, has none but keeps its entry).</summary>
    public int[] NumHeads { get; init; } = [2, 4, 5, 10];
    /// <summary>Attention window per stage (stage 0's is unused).</summary>
    public int[] WindowSizes { get; init; } = [7, 7, 14, 7];

    /// <summary>MBConv hidden channels over its input channels.</summary>
    public const int MbConvExpandRatio = 4;
    /// <summary>MLP hidden size over the block width.</summary>
    public const int MlpRatio = 4;
    /// <summary>Kernel of the depthwise conv between attention and MLP.</summary>
    public const int LocalConvSize = 3;
    /// <summary>Stride of the conv stem.</summary>
    public const int StemStride = 4;
    /// <summary>Output channels of the neck: <c>TinyViT</c> hard-codes SAM's 256.</summary>
    public const int NeckChannels = 256;

    /// <summary>Number of stages.</summary>
    public int StageCount => EmbedDims.Length;

    /// <summary>
    /// Stride of the PatchMerging that ends stage <paramref name="stage"/> (for stages before the last):
    /// upstream's depthwise conv keeps the grid (stride 1) when its output width is 320, 448 or 576, the
    /// last stage widths of TinyViT-5M/11M/21M, and halves it otherwise.
    /// </summary>
    public int MergeStride(int stage) => EmbedDims[stage + 1] is 320 or 448 or 576 ? 1 : 2;

    /// <summary>Grid side of stage <paramref name="stage"/> for an input of <paramref name="imgSize"/> pixels.</summary>
    public int StageGrid(int stage, int imgSize)
    {
        int side = imgSize / StemStride;
        for (int s = 0; s < stage; s++) side = (side - 1) / MergeStride(s) + 1; // 3x3 conv, padding 1
        return side;
    }

    /// <summary>Total stride of the last stage.</summary>
    public int OutputStride => StemStride * Enumerable.Range(0, StageCount - 1).Aggregate(1, (p, s) => p * MergeStride(s));

    /// <summary>Checks the encoder's sizes through <paramref name="need"/>, which throws naming the key.</summary>
    internal void Validate(Action<bool, string> need, int imgSize)
    {
        void InRange(int value, int max, string key) => need(value > 0 && value <= max, $"tiny_vit.{key} {value} must lie in [1, {max}]");
        need(EmbedDims is { Length: >= 2 and <= 8 }, "tiny_vit.embed_dims must list 2 to 8 stages");
        need(Depths is not null && NumHeads is not null && WindowSizes is not null
            && Depths.Length == StageCount && NumHeads.Length == StageCount && WindowSizes.Length == StageCount,
            $"tiny_vit.depths, num_heads and window_sizes must list {StageCount} stages, as embed_dims does");
        for (int s = 0; s < StageCount; s++)
        {
            InRange(EmbedDims[s], SamArchitecture.Limits.EmbedDim / MbConvExpandRatio, "embed_dims[]");
            InRange(Depths![s], SamArchitecture.Limits.Depth, "depths[]");
            InRange(NumHeads![s], SamArchitecture.Limits.Heads, "num_heads[]");
            InRange(WindowSizes![s], SamArchitecture.Limits.WindowSize, "window_sizes[]");
            if (s > 0) need(EmbedDims[s] % NumHeads[s] == 0, $"tiny_vit.embed_dims[{s}] {EmbedDims[s]} must be divisible by num_heads[{s}] {NumHeads[s]}");
        }
        need(Depths!.Sum() <= SamArchitecture.Limits.Depth, $"tiny_vit.depths add up to more than {SamArchitecture.Limits.Depth} blocks");
        // SAM's prompt encoder expects the embedding at stride 16 (img_size / 16).
        need(OutputStride == 16, $"tiny_vit's stem and merges give stride {OutputStride}, but SAM's embedding has stride 16 (exactly two merges must halve the grid)");
        need(imgSize % 16 == 0, $"img_size {imgSize} must be a multiple of 16 for a TinyViT encoder");
        for (int s = 0; s < StageCount; s++)
        {
            // Upstream sizes each stage's blocks by a fixed rule (stage 3 at stage 2's grid); the merges must agree with it.
            int grid = StageGrid(s, imgSize), official = imgSize / StemStride >> (s == 3 ? 2 : s);
            need(grid == official, $"tiny_vit stage {s} would run on a {grid}x{grid} grid, but upstream's TinyViT sizes it {official}x{official} (only the merge into stage 3 may keep the grid)");
            // The widest activation of a stage: the MBConv/MLP hidden (4C) over the window-padded grid.
            long padded = s == 0 ? grid : (grid + WindowSizes![s] - 1) / WindowSizes[s] * WindowSizes[s];
            need(padded * padded * 4 * EmbedDims[s] <= 1L << 28, $"tiny_vit stage {s} ({EmbedDims[s]} channels on a {grid}x{grid} grid) is too large");
        }
    }
}
