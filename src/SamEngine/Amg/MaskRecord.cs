namespace SamEngine.Amg;

/// <summary>
/// One mask in the form <see cref="AutomaticMaskGeneratorOptions.OutputMode"/> asks for: exactly one of
/// <see cref="Mask"/>, <see cref="Counts"/>, <see cref="CocoCounts"/> is set. <see cref="Rle"/> is always there.
/// </summary>
public sealed record MaskSegmentation(AmgOutputMode Mode, RunLengthEncoding Rle)
{
    /// <summary>Mask height (rows).</summary>
    public int Height => Rle.Height;

    /// <summary>Mask width (columns).</summary>
    public int Width => Rle.Width;

    /// <summary><c>binary_mask</c>: row-major H x W of 0/1; else null.</summary>
    public byte[]? Mask { get; } = Mode == AmgOutputMode.BinaryMask ? Rle.ToMask() : null;

    /// <summary><c>uncompressed_rle</c>: the run lengths; else null.</summary>
    public int[]? Counts => Mode == AmgOutputMode.UncompressedRle ? Rle.Counts : null;

    /// <summary><c>coco_rle</c>: the COCO string; else null.</summary>
    public string? CocoCounts { get; } = Mode == AmgOutputMode.CocoRle ? CocoRle.Encode(Rle) : null;
}

/// <summary>
/// One generated mask, with the keys of the official generator's records.
/// </summary>
/// <param name="Segmentation">The mask, in the requested output mode.</param>
/// <param name="Area">Pixels in the mask.</param>
/// <param name="Bbox">Box around the mask, [x, y, w, h] from its inclusive pixel bounds (a mask spanning a 300-wide image has w = 299); zeros when empty.</param>
/// <param name="PredictedIou">The model's own estimate of the mask's quality.</param>
/// <param name="PointCoords">The point prompt that produced the mask, in image pixels.</param>
/// <param name="StabilityScore">IoU of the mask thresholded a little above and below the cutoff (NaN when both are empty).</param>
/// <param name="CropBox">The crop the mask was predicted in, [x, y, w, h].</param>
public sealed record MaskRecord(MaskSegmentation Segmentation, int Area, int[] Bbox, float PredictedIou,
    IReadOnlyList<(double X, double Y)> PointCoords, float StabilityScore, int[] CropBox);
