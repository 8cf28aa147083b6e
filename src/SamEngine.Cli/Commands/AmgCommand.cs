using System.Diagnostics;
using System.Globalization;
using SamEngine.Amg;
using SamEngine.Config;
using SamEngine.Modeling;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine amg</c>: segments everything in an image with the automatic mask generator.</summary>
public static class AmgCommand
{
    public const string Help = """
        usage: samengine amg --model M [--arch FILE] --image IMG --out ANNS.json [options]

        Segments everything in IMG as the official SamAutomaticMaskGenerator does and writes a JSON
        array with one record per mask (segmentation, area, bbox XYWH, predicted_iou, point_coords,
        stability_score, crop_box XYWH).

          --model M                             .safetensors file or generated:<preset>[:<seed>]
          --arch FILE                           architecture JSON (or a whole cases.json), or a preset name
          --image IMG                           the image (PNG, JPEG, BMP, ...)
          --out ANNS.json                       where to write the records
          --overlay PNG                         also draw every mask over the image in its own colour
          --backend NAME                        cpu | ilgpu-cpu | cuda | opencl | auto (default auto)
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
        "--model", "--arch", "--image", "--out", "--overlay", "--backend", "--output-mode",
        "--points-per-side", "--points-per-batch", "--pred-iou-thresh", "--stability-score-thresh",
        "--stability-score-offset", "--box-nms-thresh", "--crop-n-layers", "--crop-nms-thresh",
        "--crop-overlap-ratio", "--crop-n-points-downscale-factor", "--min-mask-region-area",
    ];

    public static int Run(IReadOnlyList<string> argv, TextWriter stdout, TextWriter stderr)
    {
        var args = new CliArgs("amg", argv, OptionNames, []);
        string model = args.Required("amg", "--model"), imagePath = args.Required("amg", "--image"), outPath = args.Required("amg", "--out");
        string? overlayPath = args.Value("--overlay");
        var options = ParseOptions(args);
        options.Validate();
        var arch = args.Value("--arch") is { } a ? LoadArchitecture(a) : null;
        var (rgb, height, width) = LoadImage(imagePath);
        foreach (var path in new[] { outPath, overlayPath }.OfType<string>()) CheckFolder(path);

        var watch = Stopwatch.StartNew();
        using var sam = SamModel.Load(model, arch, BackendFactory.Create(args.Value("--backend") ?? "auto"));
        var generator = new AutomaticMaskGenerator(sam, options);
        var progress = Console.IsErrorRedirected ? null
            : new Action<AmgProgress>(p => stderr.Write($"\rcrop {p.Crop}/{p.Crops}: " + (p.Batch == 0 ? "encoding image" : $"batch {p.Batch}/{p.Batches}") + "      "));
        var records = generator.Generate(rgb, height, width, progress);
        if (progress is not null) stderr.Write($"\r{"",-60}\r");

        WriteAtomically(outPath, stream => MaskRecordJson.Write(stream, records));
        if (overlayPath is not null)
        {
            using var overlay = Image.LoadPixelData<Rgb24>(MaskOverlay.Draw(rgb, height, width, records), width, height);
            WriteAtomically(overlayPath, stream => overlay.SaveAsPng(stream));
        }
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

    private static SamArchitecture LoadArchitecture(string value)
    {
        if (SamArchitecture.PresetNames.Contains(value)) return SamArchitecture.FromPreset(value);
        if (!File.Exists(value)) throw new UsageException($"amg: --arch '{value}' is neither a preset ({string.Join(", ", SamArchitecture.PresetNames)}) nor a file");
        return SamArchitecture.FromJson(File.ReadAllText(value));
    }

    /// <summary>Reads an image file as RGB bytes (HWC).</summary>
    private static (byte[] Rgb, int Height, int Width) LoadImage(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image '{path}' does not exist");
        try
        {
            using var image = Image.Load<Rgb24>(path);
            var rgb = new byte[image.Width * image.Height * 3];
            image.CopyPixelDataTo(rgb);
            return (rgb, image.Height, image.Width);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException)
        {
            throw new IOException($"image '{path}' cannot be read: {e.Message.Split('\n')[0].Trim()}");
        }
    }

    /// <summary>Fails early when an output's folder is missing; returns the full path.</summary>
    private static string CheckFolder(string path)
    {
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir)) throw new DirectoryNotFoundException($"folder '{dir}' of '{path}' does not exist");
        return full;
    }

    /// <summary>Writes next to <paramref name="path"/> and renames, so a reader never sees half a file.</summary>
    private static void WriteAtomically(string path, Action<Stream> write)
    {
        string full = CheckFolder(path);
        string temp = $"{full}.{Environment.ProcessId}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write)) write(stream);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
