using System.Diagnostics;
using System.Globalization;
using SamEngine.Amg;
using SamEngine.Imaging;
using SixLabors.ImageSharp;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine amg</c>: segments everything in an image with the automatic mask generator.</summary>
public static class AmgCommand
{
    public const string Help = """
        usage: samengine amg --model M [--arch A] --image IMG --out ANNS.json [options]

        Segments everything in IMG as the official SamAutomaticMaskGenerator does and writes a JSON
        array with one record per mask (segmentation, area, bbox XYWH, predicted_iou, point_coords,
        stability_score, crop_box XYWH).
        """ + "\n\n" + ModelOptions.Help + "\n" + """
          --image IMG                           JPEG, PNG, BMP, GIF, WebP or TIFF photo
          --out ANNS.json                       where to write the records
          --overlay PNG                         also draw every mask over the image in its own colour
          --output-mode MODE                    coco_rle (default) | uncompressed_rle | binary_mask
          --points-per-side N                   default 32
          --points-per-batch N                  default 64
          --pred-iou-thresh X                   default 0.88
          --stability-score-thresh X            default 0.95
          --stability-score-offset X            default 1.0
          --box-nms-thresh X                    default 0.7
          --crop-n-layers N                     default 0
          --crop-nms-thresh X                   default 0.7
          --crop-overlap-ratio X                default 0.3413 (512/1500)
          --crop-n-points-downscale-factor N    default 1
          --min-mask-region-area N              default 0
        """;

    private static readonly string[] OptionNames =
    [
        .. ModelOptions.Names, "--image", "--out", "--overlay", "--output-mode",
        "--points-per-side", "--points-per-batch", "--pred-iou-thresh", "--stability-score-thresh",
        "--stability-score-offset", "--box-nms-thresh", "--crop-n-layers", "--crop-nms-thresh",
        "--crop-overlap-ratio", "--crop-n-points-downscale-factor", "--min-mask-region-area",
    ];

    public static int Run(IReadOnlyList<string> argv, TextWriter stdout, TextWriter stderr)
    {
        var args = new CliArgs("amg", argv, OptionNames, []);
        string imagePath = args.Required("amg", "--image"), outPath = args.Required("amg", "--out");
        string? overlayPath = args.Value("--overlay");
        var options = ParseOptions(args);
        options.Validate();
        var image = ImageLoader.Load(imagePath);

        var watch = Stopwatch.StartNew();
        using var model = ModelOptions.Load(args, "amg", stderr);
        var generator = new AutomaticMaskGenerator(model, options);
        var terminal = TerminalProgress.For(stderr);
        IReadOnlyList<MaskRecord> records;
        try
        {
            records = generator.Generate(image.Pixels, image.Height, image.Width, terminal is null ? null
                : p => terminal.Report(p.Batch == 0 ? $"crop {p.Crop}/{p.Crops}: encoding image" : $"crop {p.Crop}/{p.Crops}: batch", p.Batch, p.Batches));
        }
        finally { terminal?.Done(); }

        var outputs = new StagedOutputs();
        outputs.Add(outPath, temp =>
        {
            using var stream = File.Create(temp);
            MaskRecordJson.Write(stream, records);
        });
        if (overlayPath is not null)
            outputs.Add(overlayPath, temp =>
            {
                using var overlay = ImageLoader.ToImage(image with { Pixels = MaskOverlay.Draw(image.Pixels, image.Height, image.Width, records) });
                overlay.SaveAsPng(temp);
            });
        outputs.Commit();
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"amg: {records.Count} masks in {watch.Elapsed.TotalSeconds:F1} s -> {outPath}{(overlayPath is null ? "" : $", overlay {overlayPath}")}"));
        return 0;
    }

    private static AutomaticMaskGeneratorOptions ParseOptions(CliArgs args)
    {
        var o = new AutomaticMaskGeneratorOptions { OutputMode = AmgOutputMode.CocoRle };
        int Int(string name, int fallback) => args.Value(name) is { } v
            ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) ? x : throw new UsageException($"amg: {name} needs an integer, got '{v}'")
            : fallback;
        double Real(string name, double fallback) => args.Value(name) is { } v
            ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x) ? x : throw new UsageException($"amg: {name} needs a number, got '{v}'")
            : fallback;
        return o with
        {
            PointsPerSide = Int("--points-per-side", o.PointsPerSide!.Value),
            PointsPerBatch = Int("--points-per-batch", o.PointsPerBatch),
            PredIouThresh = Real("--pred-iou-thresh", o.PredIouThresh),
            StabilityScoreThresh = Real("--stability-score-thresh", o.StabilityScoreThresh),
            StabilityScoreOffset = Real("--stability-score-offset", o.StabilityScoreOffset),
            BoxNmsThresh = Real("--box-nms-thresh", o.BoxNmsThresh),
            CropNLayers = Int("--crop-n-layers", o.CropNLayers),
            CropNmsThresh = Real("--crop-nms-thresh", o.CropNmsThresh),
            CropOverlapRatio = Real("--crop-overlap-ratio", o.CropOverlapRatio),
            CropNPointsDownscaleFactor = Int("--crop-n-points-downscale-factor", o.CropNPointsDownscaleFactor),
            MinMaskRegionArea = Int("--min-mask-region-area", o.MinMaskRegionArea),
            OutputMode = args.Value("--output-mode") switch
            {
                null or "coco_rle" => AmgOutputMode.CocoRle,
                "uncompressed_rle" => AmgOutputMode.UncompressedRle,
                "binary_mask" => AmgOutputMode.BinaryMask,
                var m => throw new UsageException($"amg: unknown --output-mode '{m}' (coco_rle, uncompressed_rle or binary_mask)"),
            },
        };
    }
}
