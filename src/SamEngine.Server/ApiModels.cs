using System.ComponentModel;

namespace SamEngine.Server;

/// <summary>An image the server holds: <c>POST /v1/images</c> and <c>PUT /v1/images/{id}/embedding</c> answer with it.</summary>
/// <param name="Id">The image's id in every later route.</param>
/// <param name="Height">Original height in pixels.</param>
/// <param name="Width">Original width in pixels.</param>
/// <param name="EncodeMs">Image encoder time in milliseconds (0 for an uploaded embedding).</param>
public sealed record ImageInfo(string Id, int Height, int Width, double EncodeMs);

/// <summary>
/// A prompt for <c>POST /v1/images/{id}/predict</c>, in original image pixels: points, a box, both, and
/// optionally a previous result's low-res logits as mask input.
/// </summary>
public sealed class PredictRequest
{
    /// <summary><c>[[x, y, label], ...]</c>; label 1 foreground, 0 background.</summary>
    [Description("points [[x, y, label], ...] in image pixels; label 1 = foreground, 0 = background")]
    public float[][]? Points { get; set; }

    /// <summary><c>[x0, y0, x1, y1]</c>.</summary>
    [Description("a box [x0, y0, x1, y1] in image pixels")]
    public float[]? Box { get; set; }

    /// <summary>A previous result of this image: <c>RESULT_ID</c> (its best mask) or <c>RESULT_ID:K</c> (mask K).</summary>
    [Description("refine a previous result: its result_id (the best-scoring mask's low-res logits) or result_id:K (mask K)")]
    public string? MaskInput { get; set; }

    /// <summary>Three masks instead of one (best for a single ambiguous click).</summary>
    [Description("three candidate masks instead of one")]
    public bool Multimask { get; set; }

    /// <summary>Also return each mask as a base64 PNG.</summary>
    [Description("also return each mask as a base64 PNG (white = object)")]
    public bool Png { get; set; }
}

/// <summary>A mask as a COCO RLE: <c>size</c> [h, w] and the compressed <c>counts</c> string (column-major, as pycocotools).</summary>
public sealed record RleMask(int[] Size, string Counts);

/// <summary>The answer to a predict: a result id for refinement, a score and a mask per candidate, PNGs on request.</summary>
/// <param name="ResultId">Pass as <c>mask_input</c> to refine this result.</param>
/// <param name="Scores">Predicted IoU of each mask.</param>
/// <param name="Masks">The masks as COCO RLE, in the order of <paramref name="Scores"/>.</param>
/// <param name="Png">Each mask as a base64 PNG when asked for, else absent.</param>
public sealed record PredictResponse(string ResultId, float[] Scores, RleMask[] Masks, string[]? Png);

/// <summary>
/// <c>POST /v1/images/{id}/amg</c>: the <c>amg</c> verb's options in snake case; an absent field takes the
/// verb's default (<c>pred_iou_thresh</c>: the model family's, <c>output_mode</c>: <c>coco_rle</c>).
/// </summary>
public sealed class AmgRequest
{
    public int? PointsPerSide { get; set; }
    public int? PointsPerBatch { get; set; }
    public double? PredIouThresh { get; set; }
    public double? StabilityScoreThresh { get; set; }
    public double? StabilityScoreOffset { get; set; }
    public double? BoxNmsThresh { get; set; }
    public int? CropNLayers { get; set; }
    public double? CropNmsThresh { get; set; }
    public double? CropOverlapRatio { get; set; }
    public int? CropNPointsDownscaleFactor { get; set; }
    public int? MinMaskRegionArea { get; set; }
    public bool? UseM2m { get; set; }
    public bool? MultimaskOutput { get; set; }

    /// <summary><c>coco_rle</c> (default), <c>uncompressed_rle</c> or <c>binary_mask</c>.</summary>
    public string? OutputMode { get; set; }
}

/// <summary><c>GET /healthz</c>: the model being served.</summary>
public sealed record Health(string Status, string Model, string Backend, string Device);

/// <summary><c>GET /readyz</c>: whether an upload would be taken now.</summary>
public sealed record Readiness(string Status, int QueueDepth, int QueueCapacity, int CachedImages, long CacheBytes, long CacheCapacityBytes);
