using SamEngine.Config;

namespace SamEngine.Amg;

/// <summary>How <see cref="MaskRecord.Segmentation"/> holds each mask (the official <c>output_mode</c>).</summary>
public enum AmgOutputMode
{
    /// <summary><c>binary_mask</c>: an H x W array of 0/1.</summary>
    BinaryMask,
    /// <summary><c>uncompressed_rle</c>: run lengths in column-major order.</summary>
    UncompressedRle,
    /// <summary><c>coco_rle</c>: the compressed COCO string of pycocotools.</summary>
    CocoRle,
}

/// <summary>The official <c>output_mode</c> names of <see cref="AmgOutputMode"/>.</summary>
public static class AmgOutputModes
{
    /// <summary>The mode named <paramref name="name"/> (<c>coco_rle</c>, <c>uncompressed_rle</c> or <c>binary_mask</c>), if it is one.</summary>
    public static bool TryParse(string? name, out AmgOutputMode mode)
    {
        (bool known, mode) = name switch
        {
            "coco_rle" => (true, AmgOutputMode.CocoRle),
            "uncompressed_rle" => (true, AmgOutputMode.UncompressedRle),
            "binary_mask" => (true, AmgOutputMode.BinaryMask),
            _ => (false, default),
        };
        return known;
    }
}

/// <summary>
/// The arguments of the official <c>SamAutomaticMaskGenerator</c> (SAM 1) and
/// <c>SAM2AutomaticMaskGenerator</c> (SAM 2.1), with their names (in C# case) and defaults. The two share
/// every default but <see cref="PredIouThresh"/>'s, which is left null here and resolved for the model's
/// family by <see cref="ForFamily"/>; <see cref="UseM2m"/> and <see cref="MultimaskOutput"/> exist only in
/// upstream's SAM 2 generator.
/// </summary>
public sealed record AutomaticMaskGeneratorOptions
{
    /// <summary><c>SamAutomaticMaskGenerator</c>'s <c>pred_iou_thresh</c> default (chosen for ViT-H).</summary>
    public const double Sam1PredIouThresh = 0.88;

    /// <summary><c>SAM2AutomaticMaskGenerator</c>'s <c>pred_iou_thresh</c> default (chosen for Hiera-L).</summary>
    public const double Sam2PredIouThresh = 0.8;

    /// <summary>Points along one side of the grid of crop layer 0; null when <see cref="PointGrids"/> is given.</summary>
    public int? PointsPerSide { get; init; } = 32;

    /// <summary>Points decoded together in one batch.</summary>
    public int PointsPerBatch { get; init; } = 64;

    /// <summary>
    /// Masks whose predicted IoU is not above this are dropped (no filter at 0); null: the family's default,
    /// <see cref="Sam1PredIouThresh"/> or <see cref="Sam2PredIouThresh"/>.
    /// </summary>
    public double? PredIouThresh { get; init; }

    /// <summary>Masks whose stability score is below this are dropped (no filter at 0).</summary>
    public double StabilityScoreThresh { get; init; } = 0.95;

    /// <summary>How far the logit cutoff moves either way for the stability score.</summary>
    public double StabilityScoreOffset { get; init; } = 1.0;

    /// <summary>Box IoU above which NMS drops duplicate masks within a crop.</summary>
    public double BoxNmsThresh { get; init; } = 0.7;

    /// <summary>Crop layers beyond the whole image; layer i has (2^i)² crops.</summary>
    public int CropNLayers { get; init; } = 0;

    /// <summary>Box IoU above which NMS drops duplicates between crops (masks of smaller crops win).</summary>
    public double CropNmsThresh { get; init; } = 0.7;

    /// <summary>Overlap of neighbouring crops in layer 1, as a fraction of the image's short side.</summary>
    public double CropOverlapRatio { get; init; } = 512.0 / 1500;

    /// <summary>Layer i samples points_per_side / factor^i points per side.</summary>
    public int CropNPointsDownscaleFactor { get; init; } = 1;

    /// <summary>Explicit normalised point grids, one per crop layer; exclusive with <see cref="PointsPerSide"/>.</summary>
    public IReadOnlyList<IReadOnlyList<(double X, double Y)>>? PointGrids { get; init; }

    /// <summary>
    /// If above 0, SAM 1: holes and islands smaller than this many pixels are removed from the final masks,
    /// then NMS runs again. SAM 2.1 (as <c>SAM2AutomaticMaskGenerator</c>, which hands it to its predictor as
    /// <c>max_hole_area</c> and <c>max_sprinkle_area</c>): holes and specks of up to this many low-res pixels are
    /// flipped in every mask's low-res logits before it is upsampled and scored; no second NMS.
    /// </summary>
    public int MinMaskRegionArea { get; init; } = 0;

    /// <summary>The form of <see cref="MaskRecord.Segmentation"/>.</summary>
    public AmgOutputMode OutputMode { get; init; } = AmgOutputMode.BinaryMask;

    /// <summary>
    /// SAM 2.1 only (<c>use_m2m</c>): each mask is predicted again from its own point with its low-res
    /// logits as the mask input and one mask asked for, and the refined mask and IoU replace it before
    /// the filters.
    /// </summary>
    public bool UseM2m { get; init; }

    /// <summary>
    /// Three masks per grid point (true) or one (false: SAM 2.1's single mask, with its dynamic fallback to
    /// the best of the three when unstable). SAM 1's generator always asks for three.
    /// </summary>
    public bool MultimaskOutput { get; init; } = true;

    /// <summary>
    /// These options for a model of <paramref name="family"/>: <see cref="PredIouThresh"/> set to the family's
    /// default when null. A SAM 1 model refuses <see cref="UseM2m"/> and a single mask per point, which
    /// upstream's SAM 1 generator does not have.
    /// </summary>
    public AutomaticMaskGeneratorOptions ForFamily(ModelFamily family)
    {
        if (family == ModelFamily.Sam && (UseM2m || !MultimaskOutput))
            throw new ArgumentException($"invalid mask generator options: {(UseM2m ? "use_m2m" : "multimask_output false")} needs a SAM 2.1 model (SAM 1's generator has no such option)");
        return this with { PredIouThresh = PredIouThresh ?? (family == ModelFamily.Sam2 ? Sam2PredIouThresh : Sam1PredIouThresh) };
    }

    /// <summary>Checks the options and returns the point grid of every crop layer.</summary>
    public IReadOnlyList<IReadOnlyList<(double X, double Y)>> Validate()
    {
        void Need(bool ok, string what) { if (!ok) throw new ArgumentException($"invalid mask generator options: {what}"); }
        Need((PointsPerSide is null) != (PointGrids is null), "give exactly one of points_per_side and point_grids");
        Need(PointsPerSide is null or > 0, $"points_per_side must be positive, got {PointsPerSide}");
        Need(PointsPerBatch > 0, $"points_per_batch must be positive, got {PointsPerBatch}");
        Need(CropNLayers >= 0, $"crop_n_layers must be 0 or more, got {CropNLayers}");
        Need(CropNPointsDownscaleFactor >= 1, $"crop_n_points_downscale_factor must be 1 or more, got {CropNPointsDownscaleFactor}");
        Need(MinMaskRegionArea >= 0, $"min_mask_region_area must be 0 or more, got {MinMaskRegionArea}");
        Need(double.IsFinite(CropOverlapRatio) && CropOverlapRatio >= 0 && CropOverlapRatio < 1, $"crop_overlap_ratio must lie in [0, 1), got {CropOverlapRatio}");
        foreach (var (name, value) in new[] { ("pred_iou_thresh", PredIouThresh ?? 0), ("stability_score_thresh", StabilityScoreThresh),
                     ("stability_score_offset", StabilityScoreOffset), ("box_nms_thresh", BoxNmsThresh), ("crop_nms_thresh", CropNmsThresh) })
            Need(double.IsFinite(value), $"{name} must be a finite number, got {value}");
        Need(Enum.IsDefined(OutputMode), $"unknown output mode {OutputMode}");
        if (PointGrids is { } grids)
        {
            Need(grids.Count > CropNLayers, $"point_grids has {grids.Count} grids but crop_n_layers {CropNLayers} needs {CropNLayers + 1}");
            Need(grids.All(g => g.Count > 0), "every point grid needs at least one point");
            Need(grids.All(g => g.All(p => p.X is >= 0 and <= 1 && p.Y is >= 0 and <= 1)), "point_grids must be normalised to [0, 1]");
            return grids;
        }
        return PointGrid.BuildAllLayers(PointsPerSide!.Value, CropNLayers, CropNPointsDownscaleFactor);
    }
}
