using System.Buffers;
using SamEngine.Modeling;
using SamEngine.Processing;

namespace SamEngine.Amg;

/// <summary>
/// Where a <c>AutomaticMaskGenerator.Generate</c> call is: crop (1-based) of crops, batch of batches done
/// in that crop (0 while the crop's image is being encoded).
/// </summary>
public readonly record struct AmgProgress(int Crop, int Crops, int Batch, int Batches);

/// <summary>
/// Segments everything in an image, as the official <c>SamAutomaticMaskGenerator</c> (SAM 1) and
/// <c>SAM2AutomaticMaskGenerator</c> (SAM 2.1): a grid of point prompts over the image and over zoomed-in
/// crops, decoded in batches with three masks per point; masks are filtered by predicted IoU and
/// stability score, masks cut off by a crop edge are dropped, duplicates are removed by box NMS within
/// each crop and then across crops (smaller crops win), and optionally small holes and islands are
/// removed (see <see cref="AutomaticMaskGeneratorOptions.MinMaskRegionArea"/>). SAM 2.1 adds one mask per
/// point on request and the m2m refinement (<see cref="AutomaticMaskGeneratorOptions.UseM2m"/>); its
/// masks come from the predictor's SAM 2.1 path (square input, direct bilinear upsampling).
/// An instance is not thread-safe: a <c>Generate</c> made while another runs on it throws
/// <see cref="InvalidOperationException"/>; use one generator per thread.
/// </summary>
public sealed class AutomaticMaskGenerator : IDisposable
{
    private const int UpsampleChunk = 16; // planes upsampled at once

    private readonly SamModel _model;
    private readonly SamPredictor _predictor;
    private readonly ConcurrentUseGuard _guard = new(nameof(AutomaticMaskGenerator));
    private readonly IReadOnlyList<IReadOnlyList<(double X, double Y)>> _grids;
    private float[]? _lowRes; // the current batch's low-res logits, reused from batch to batch

    /// <summary>
    /// A generator over a loaded model; options left unset take the defaults of the model's family
    /// (<see cref="AutomaticMaskGeneratorOptions.ForFamily"/>).
    /// </summary>
    public AutomaticMaskGenerator(SamModel model, AutomaticMaskGeneratorOptions? options = null)
    {
        _model = model;
        Options = (options ?? new AutomaticMaskGeneratorOptions()).ForFamily(model.Architecture.Family);
        _grids = Options.Validate();
        // SAM 2's generator hands min_mask_region_area to its predictor as the hole and sprinkle areas.
        float cleanUp = IsSam2 ? Options.MinMaskRegionArea : 0;
        _predictor = new SamPredictor(model, maxHoleArea: cleanUp, maxSprinkleArea: cleanUp);
    }

    private bool IsSam2 => _model.Architecture.Family == Config.ModelFamily.Sam2;

    /// <summary>The options in use, <see cref="AutomaticMaskGeneratorOptions.PredIouThresh"/> resolved.</summary>
    public AutomaticMaskGeneratorOptions Options { get; }

    /// <summary>
    /// Generates the masks of an RGB image (HWC bytes). Unlike upstream, which fails when several crops
    /// yield no mask at all, an image without masks gives an empty list. <paramref name="preprocessed"/> is
    /// the image's <see cref="SamPredictor.Preprocess"/>, made beforehand for the first crop, the whole
    /// image (null: made here).
    /// </summary>
    public IReadOnlyList<MaskRecord> Generate(byte[] rgb, int height, int width, Action<AmgProgress>? progress = null,
        PreprocessedImage? preprocessed = null) =>
        Generate(rgb, height, width, wholeImage: null, progress, preprocessed);

    /// <summary>
    /// As <see cref="Generate(byte[], int, int, Action{AmgProgress}?, PreprocessedImage?)"/>, with
    /// <paramref name="wholeImage"/>, this image's embedding made by a predictor of the same model (a server's
    /// cached one), standing in for the encoder on the crop that is the whole image: the same masks, one
    /// encoder run fewer.
    /// </summary>
    public IReadOnlyList<MaskRecord> Generate(byte[] rgb, int height, int width, ImageEmbedding? wholeImage, Action<AmgProgress>? progress = null,
        PreprocessedImage? preprocessed = null)
    {
        using var call = _guard.Enter();
        if (height <= 0 || width <= 0 || rgb.Length != (long)height * width * 3)
            throw new ArgumentException($"image of {rgb.Length} bytes is not {height} x {width} x 3 RGB");
        if (wholeImage is not null && (wholeImage.OriginalHeight, wholeImage.OriginalWidth) != (height, width))
            throw new ArgumentException($"the embedding is of a {wholeImage.OriginalHeight} x {wholeImage.OriginalWidth} image, not {height} x {width}");
        var crops = CropBoxes.Generate(height, width, Options.CropNLayers, Options.CropOverlapRatio);
        var masks = new List<MaskCandidate>();
        for (int c = 0; c < crops.Count; c++)
        {
            int crop = c + 1;
            Action<int, int>? batchProgress = progress is null ? null : (b, n) => progress(new AmgProgress(crop, crops.Count, b, n));
            masks.AddRange(ProcessCrop(rgb, height, width, crops[c].Box, _grids[crops[c].Layer], wholeImage, batchProgress, c == 0 ? preprocessed : null));
        }

        if (crops.Count > 1)
        {
            // Prefer masks from smaller crops: the score is 1 / crop area, in float32 as upstream.
            var keep = BoxNms.Run(masks.Select(m => m.Box).ToArray(), masks.Select(m => 1f / m.Crop.Area).ToArray(), Options.CropNmsThresh);
            masks = keep.Select(i => masks[i]).ToList();
        }
        // SAM 2.1's generator cleans the low-res logits instead (see Upsample), and never calls this.
        if (Options.MinMaskRegionArea > 0 && !IsSam2)
            masks = SmallRegionCleanup.Apply(masks, Options.MinMaskRegionArea, Math.Max(Options.BoxNmsThresh, Options.CropNmsThresh));

        return masks.Select(m => new MaskRecord(new MaskSegmentation(Options.OutputMode, m.Rle), m.Rle.Area, m.Box.ToXywh(),
            m.PredictedIou, [(m.PointX, m.PointY)], m.StabilityScore, m.Crop.ToXywh())).ToArray();
    }

    /// <summary>Releases the backend tensors of the last image's embedding.</summary>
    public void Dispose() => _predictor.Dispose();

    /// <summary>Masks of one crop (<c>_process_crop</c>), deduplicated, in the image frame.</summary>
    private List<MaskCandidate> ProcessCrop(byte[] rgb, int height, int width, PixelBox crop, IReadOnlyList<(double X, double Y)> grid,
        ImageEmbedding? wholeImage, Action<int, int>? progress, PreprocessedImage? preprocessed)
    {
        int cw = crop.X1 - crop.X0, ch = crop.Y1 - crop.Y0;
        if (cw <= 0 || ch <= 0) return []; // a crop of an image 1 pixel across can be empty; upstream would fail on it
        int batchSize = Options.PointsPerBatch, batches = (grid.Count + batchSize - 1) / batchSize;
        progress?.Invoke(0, batches); // batch 0: the image encoder is running
        if (wholeImage is not null && crop.X0 == 0 && crop.Y0 == 0 && cw == width && ch == height)
            _predictor.SetEmbedding(wholeImage.ImageEmbeddings, height, width, wholeImage.HighResFeats0, wholeImage.HighResFeats1);
        else _predictor.SetImage(CropImage(rgb, width, crop), ch, cw, preprocessed: preprocessed);

        var masks = new List<MaskCandidate>();
        for (int b = 0; b < batches; b++)
        {
            // SAM 2's generator holds the points in float32 from here on; SAM 1's keeps numpy's float64.
            var points = grid.Skip(b * batchSize).Take(batchSize)
                .Select(p => IsSam2 ? (X: (double)(float)(p.X * cw), Y: (double)(float)(p.Y * ch)) : (X: p.X * cw, Y: p.Y * ch)).ToArray();
            masks.AddRange(ProcessBatch(points, crop, height, width));
            progress?.Invoke(b + 1, batches);
        }

        // Duplicates within the crop, on boxes in the crop frame.
        var keep = BoxNms.Run(masks.Select(m => m.Box).ToArray(), masks.Select(m => m.PredictedIou).ToArray(), Options.BoxNmsThresh);
        return keep.Select(i => masks[i].ToImageFrame(float32Points: IsSam2)).ToList();
    }

    /// <summary>
    /// Masks of one batch of points (<c>_process_batch</c>): one decoder pass (three masks per point, or
    /// one), the m2m refinement if asked for, filtered, boxes in the crop frame, RLEs in the image frame.
    /// </summary>
    private List<MaskCandidate> ProcessBatch((double X, double Y)[] points, PixelBox crop, int height, int width)
    {
        var prompts = points.Select(p => new SamPrompt { Points = [((float)p.X, (float)p.Y, 1)] }).ToArray();
        int batch = prompts.Length, perPoint = _model.MaskDecoder.MaskCount(Options.MultimaskOutput), lowPlane = _model.Architecture.LowResSize * _model.Architecture.LowResSize;
        _lowRes = _lowRes is { } l && l.Length >= batch * perPoint * lowPlane ? l : new float[batch * perPoint * lowPlane];
        var lowRes = _lowRes;
        var ious = new float[batch * perPoint];
        // Upstream makes every mask and then filters by predicted IoU. The IoU head does not read the
        // masks, so the decoder skips the masks of points none of whose masks would pass, and only the
        // surviving planes are upsampled (each plane is resized on its own): the same masks for less work.
        // Not with m2m, which refines every mask before the filter (and whose single-mask pass picks
        // masks by their stability, so needs them all).
        double predIouThresh = Options.PredIouThresh!.Value;
        float iouThreshold = (float)predIouThresh;
        _predictor.PredictLowRes(prompts, Options.MultimaskOutput, lowRes, ious, predIouThresh > 0 && !Options.UseM2m ? iouThreshold : null);
        if (Options.UseM2m) (lowRes, ious) = RefineWithM2m(prompts, perPoint, lowRes, ious.Length);

        int[] kept = Enumerable.Range(0, batch * perPoint).Where(k => !(predIouThresh > 0) || ious[k] > iouThreshold).ToArray();
        var emb = _predictor.Embedding!;
        int ch = emb.OriginalHeight, cw = emb.OriginalWidth, planeSize = ch * cw;
        float maskThreshold = Postprocess.MaskThreshold, stabilityThreshold = (float)Options.StabilityScoreThresh;
        var found = new MaskCandidate?[kept.Length];
        // A few planes at a time keeps the full-size logits of a large batch out of memory.
        // One reused buffer: a fresh one per chunk would be new pages for the OS to map every time.
        var logits = ArrayPool<float>.Shared.Rent(Math.Min(UpsampleChunk, kept.Length) * planeSize);
        for (int start = 0; start < kept.Length; start += UpsampleChunk)
        {
            int count = Math.Min(UpsampleChunk, kept.Length - start);
            Upsample(lowRes, kept.AsSpan(start, count), logits.AsSpan(0, count * planeSize));
            Parallel.For(0, count, j =>
            {
                var plane = logits.AsSpan(j * planeSize, planeSize);
                float stability = MaskScoring.StabilityScore(plane, ch, cw, maskThreshold, Options.StabilityScoreOffset);
                if (Options.StabilityScoreThresh > 0 && !(stability >= stabilityThreshold)) return;
                var box = MaskScoring.MaskBox(plane, ch, cw, maskThreshold);
                if (CropBoxes.IsNearCropEdge(box, crop, height, width)) return;
                int k = kept[start + j];
                var (x, y) = points[k / perPoint];
                found[start + j] = new MaskCandidate(UncroppedRle(plane, crop, height, width, maskThreshold), box, ious[k], stability, x, y, crop);
            });
        }
        ArrayPool<float>.Shared.Return(logits);
        return found.OfType<MaskCandidate>().ToList();
    }

    /// <summary>
    /// SAM 2's <c>refine_with_m2m</c>: mask k of the batch predicted again from its point,
    /// <c>prompts[k / perPoint]</c>, with its own low-res logits clamped to ±32 (as the predictor hands
    /// them back) as the mask input and one mask asked for, <see cref="AutomaticMaskGeneratorOptions.PointsPerBatch"/>
    /// masks per decoder pass. Returns the refined low-res logits [n, S/4, S/4] and IoUs [n].
    /// </summary>
    private (float[] LowRes, float[] Ious) RefineWithM2m(SamPrompt[] prompts, int perPoint, float[] lowRes, int n)
    {
        int lowPlane = _model.Architecture.LowResSize * _model.Architecture.LowResSize, batchSize = Options.PointsPerBatch;
        var refined = new float[n * lowPlane];
        var ious = new float[n];
        for (int start = 0; start < n; start += batchSize)
        {
            int count = Math.Min(batchSize, n - start);
            var inputs = new SamPrompt[count];
            for (int j = 0; j < count; j++)
            {
                var maskInput = new float[lowPlane];
                SamPredictor.ClampLowRes(lowRes.AsSpan((start + j) * lowPlane, lowPlane), maskInput);
                inputs[j] = prompts[(start + j) / perPoint] with { MaskInput = maskInput };
            }
            // One mask per prompt, so the pass writes planes [start, start + count) and IoUs likewise.
            var planes = new float[count * lowPlane];
            var passIous = new float[count];
            _predictor.PredictLowRes(inputs, multimask: false, planes, passIous);
            planes.CopyTo(refined.AsSpan(start * lowPlane));
            passIous.CopyTo(ious.AsSpan(start));
        }
        return (refined, ious);
    }

    /// <summary>
    /// The chosen planes of low-res logits upsampled to the crop into <paramref name="logits"/>: SAM 1's
    /// <c>Sam.postprocess_masks</c>, or SAM 2.1's <c>SAM2Transforms.postprocess_masks</c> (the predictor flips
    /// holes and specks of up to <see cref="AutomaticMaskGeneratorOptions.MinMaskRegionArea"/> low-res pixels,
    /// then makes one bilinear resize).
    /// </summary>
    private void Upsample(float[] lowRes, ReadOnlySpan<int> planes, Span<float> logits)
    {
        int lowPlane = _model.Architecture.LowResSize * _model.Architecture.LowResSize;
        var selected = ArrayPool<float>.Shared.Rent(planes.Length * lowPlane);
        for (int j = 0; j < planes.Length; j++) lowRes.AsSpan(planes[j] * lowPlane, lowPlane).CopyTo(selected.AsSpan(j * lowPlane));
        _predictor.UpsampleLowRes(selected.AsSpan(0, planes.Length * lowPlane), planes.Length, logits, default);
        ArrayPool<float>.Shared.Return(selected);
    }

    /// <summary>The RLE, in the image frame, of crop-frame logits above the threshold (<c>uncrop_masks</c> + <c>mask_to_rle</c>).</summary>
    private static RunLengthEncoding UncroppedRle(ReadOnlySpan<float> logits, PixelBox crop, int height, int width, float threshold)
    {
        int cw = crop.X1 - crop.X0, ch = crop.Y1 - crop.Y0;
        var runs = new RunBuilder();
        runs.AddRun(false, crop.X0 * height);
        for (int x = 0; x < cw; x++)
        {
            runs.AddRun(false, crop.Y0);
            for (int y = 0; y < ch; y++) runs.Add(logits[y * cw + x] > threshold);
            runs.AddRun(false, height - crop.Y1);
        }
        runs.AddRun(false, (width - crop.X1) * height);
        return runs.Finish(height, width);
    }

    private static byte[] CropImage(byte[] rgb, int width, PixelBox crop)
    {
        int cw = crop.X1 - crop.X0, ch = crop.Y1 - crop.Y0;
        if (cw == width && crop.X0 == 0 && crop.Y0 == 0 && ch * width * 3 == rgb.Length) return rgb;
        var cropped = new byte[ch * cw * 3];
        for (int y = 0; y < ch; y++)
            rgb.AsSpan(((crop.Y0 + y) * width + crop.X0) * 3, cw * 3).CopyTo(cropped.AsSpan(y * cw * 3));
        return cropped;
    }
}

/// <summary>
/// A mask on its way through the generator (the official <c>MaskData</c> row). <see cref="Box"/> is XYXY with
/// inclusive bounds, in the crop frame until <see cref="ToImageFrame"/>; <see cref="Rle"/> is always in the image frame.
/// </summary>
internal sealed record MaskCandidate(RunLengthEncoding Rle, PixelBox Box, float PredictedIou, float StabilityScore,
    double PointX, double PointY, PixelBox Crop)
{
    /// <summary>
    /// The box and point moved from the crop frame to the image frame; <paramref name="float32Points"/>: the
    /// point's sum rounded to float32, as SAM 2's generator adds the offset to its float32 points.
    /// </summary>
    public MaskCandidate ToImageFrame(bool float32Points) => this with
    {
        Box = Box.Offset(Crop.X0, Crop.Y0),
        PointX = float32Points ? (float)(PointX + Crop.X0) : PointX + Crop.X0,
        PointY = float32Points ? (float)(PointY + Crop.Y0) : PointY + Crop.Y0,
    };
}
