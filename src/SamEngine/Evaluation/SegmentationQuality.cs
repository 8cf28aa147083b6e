using SamEngine.Amg;
using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Evaluation;

/// <summary>How well one true object is segmented: IoUs with its true mask, at the image's own resolution.</summary>
/// <param name="Scene">The scene's image file.</param>
/// <param name="Kind">The object's kind.</param>
/// <param name="Area">Its pixels.</param>
/// <param name="PointIou">A click at its point: the top-scored of the three multimask outputs.</param>
/// <param name="OracleIou">The same click: the best of the three outputs.</param>
/// <param name="BoxIou">Its box: the single output.</param>
/// <param name="AmgIou">The best of the automatic mask generator's masks for the whole image; NaN when it was not run.</param>
internal sealed record ObjectQuality(string Scene, string Kind, int Area, double PointIou, double OracleIou, double BoxIou, double AmgIou);

/// <summary>The quality of a model over an <see cref="EvalSet"/>: per object, and the means SAM's paper reports.</summary>
/// <param name="Objects">Every object of every scene, in order.</param>
/// <param name="AmgMasks">Masks the generator made over all scenes.</param>
internal sealed record QualityReport(IReadOnlyList<ObjectQuality> Objects, int AmgMasks)
{
    /// <summary>The IoU an automatic mask needs to count as finding an object.</summary>
    public const double AmgMatchIou = 0.5;

    /// <summary>Single-point mIoU: the top-scored mask of a click at each object's point.</summary>
    public double PointMiou => Objects.Average(o => o.PointIou);

    /// <summary>Oracle mIoU: the best of the three masks of the same click.</summary>
    public double OracleMiou => Objects.Average(o => o.OracleIou);

    /// <summary>Box mIoU: the single mask of each object's box.</summary>
    public double BoxMiou => Objects.Average(o => o.BoxIou);

    /// <summary>AMG recall: the fraction of objects that some generated mask matches with IoU >= <see cref="AmgMatchIou"/> (NaN when the generator was not run).</summary>
    public double AmgRecall => Objects.Any(o => double.IsNaN(o.AmgIou)) ? double.NaN : Objects.Count(o => o.AmgIou >= AmgMatchIou) / (double)Objects.Count;
}

/// <summary>
/// Measures a model on an <see cref="EvalSet"/> with the engine's own predictor and mask generator: per
/// scene one encoder run, then per object a click (multimask) and a box, and (given generator options) one
/// automatic mask generation over the whole image from the same embedding.
/// </summary>
internal static class SegmentationQuality
{
    /// <summary>The report of <paramref name="model"/> on <paramref name="set"/>, the generator run with <paramref name="amgOptions"/> (null: not run).</summary>
    public static QualityReport Measure(SamModel model, EvalSet set, AutomaticMaskGeneratorOptions? amgOptions)
    {
        using var predictor = new SamPredictor(model);
        using var generator = amgOptions is null ? null : new AutomaticMaskGenerator(model, amgOptions with { OutputMode = AmgOutputMode.BinaryMask });
        var objects = new List<ObjectQuality>();
        int amgMasks = 0;
        foreach (var scene in set.Scenes)
        {
            var image = scene.LoadImage();
            predictor.SetImage(image);
            var generated = generator?.Generate(image.Pixels, image.Height, image.Width, predictor.Embedding);
            amgMasks += generated?.Count ?? 0;
            foreach (var obj in scene.Objects)
            {
                var truth = obj.LoadMask(scene);
                using var click = predictor.Predict(new SamPrompt { Points = [obj.Click] }, multimask: true);
                var clickIous = Enumerable.Range(0, click.MaskCount).Select(m => MaskIou.Of(click.Mask(m), truth)).ToArray();
                using var box = predictor.Predict(new SamPrompt { Box = obj.BoxPrompt }, multimask: false);
                objects.Add(new ObjectQuality(Path.GetFileName(scene.ImagePath), obj.Kind, obj.Area,
                    PointIou: clickIous[click.BestMask()], OracleIou: clickIous.Max(), BoxIou: MaskIou.Of(box.Mask(0), truth),
                    AmgIou: generated is null ? double.NaN : BestMatch(generated, obj, truth)));
            }
        }
        return new QualityReport(objects, amgMasks);
    }

    /// <summary>The highest IoU of a generated mask with <paramref name="truth"/>; masks whose box misses the object's are skipped (IoU 0).</summary>
    private static double BestMatch(IReadOnlyList<MaskRecord> generated, EvalObject obj, byte[] truth)
    {
        double best = 0;
        foreach (var record in generated)
        {
            var b = record.Bbox; // x, y, w, h of inclusive bounds
            if (b[0] > obj.Box[2] || b[0] + b[2] < obj.Box[0] || b[1] > obj.Box[3] || b[1] + b[3] < obj.Box[1]) continue;
            best = Math.Max(best, MaskIou.Of(record.Segmentation.Mask, truth));
        }
        return best;
    }
}
