using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SamEngine.Amg;
using SamEngine.Batch;
using SamEngine.Cli.Batch;
using SamEngine.Imaging;
using SixLabors.ImageSharp;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine amg</c>: segments everything in an image with the automatic mask generator.</summary>
public static class AmgCommand
{
    /// <summary>The <c>amg</c> verb.</summary>
    public static Verb Create()
    {
        var verb = new Verb("amg", "segment everything in an image or a dataset (automatic mask generator)",
            "samengine amg --model M [--arch A] --image IMG --out ANNS.json [options]\n" +
            "       samengine amg --model M [--arch A] --images DIR|LIST.txt|GLOB --out OUT [--format sa1b|amg-folder|coco] [--shard I/N] [--fail-fast] [options]", """
            Segments everything in IMG as the official SamAutomaticMaskGenerator does (SAM2AutomaticMaskGenerator
            for a SAM 2.1 model, with its defaults) and writes a JSON array with one record per mask
            (segmentation, area, bbox XYWH, predicted_iou, point_coords, stability_score, crop_box XYWH).
            With --images it segments every image, the model loaded once: an input a/b.jpg gives OUT/a/b.json
            (sa1b: SA-1B's per-image JSON), OUT/a/b/ (amg-folder: a PNG per mask and metadata.csv, as
            amg.py) or OUT/a/b.json plus OUT/coco.json over all images (coco); each finished image adds a line to
            OUT/manifest.jsonl, and running the same command again skips the images already done.
            """);
        var model = new ModelOptions(verb);
        var image = CliOptions.Text("--image", "IMG", "JPEG, PNG, BMP, GIF, WebP or TIFF photo");
        var outPath = CliOptions.Required("--out", "ANNS.json|DIR", "where to write the records (with --images: the output folder)");
        var overlay = CliOptions.Text("--overlay", "PNG", "also draw every mask over the image in its own colour");
        verb.Add(image);
        verb.Add(outPath);
        verb.Add(overlay);
        var batch = new BatchOptions(verb, BatchFormat.Sa1b, BatchFormat.AmgFolder, BatchFormat.Coco);
        var generator = new AmgParameters();
        generator.AddTo(verb);
        var outputMode = generator.Options.Single(o => o.Property == nameof(AutomaticMaskGeneratorOptions.OutputMode)).Option;
        verb.SetAction(parsed =>
        {
            var options = generator.Read(parsed);
            var (stdout, stderr) = (parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error);
            if (!batch.IsBatch(parsed, image, overlay, outputMode))
                return Run(parsed, model, parsed.GetValue(image)!, parsed.GetRequiredValue(outPath), parsed.GetValue(overlay), options, stdout, stderr);
            // The batch formats store COCO RLEs (amg-folder decodes them to PNGs).
            options = options with { OutputMode = AmgOutputMode.CocoRle };
            options.Validate();
            return batch.Run(parsed, parsed.GetRequiredValue(outPath), () => model.Load(parsed, stderr),
                (m, format) => new AmgBatchWork(new AutomaticMaskGenerator(m, options), format), stdout, stderr);
        });
        return verb;
    }

    private static int Run(ParseResult parsed, ModelOptions modelOptions, string imagePath, string outPath, string? overlayPath,
        AutomaticMaskGeneratorOptions options, TextWriter stdout, TextWriter stderr)
    {
        options.Validate();
        var image = ImageLoader.Load(imagePath);

        var watch = Stopwatch.StartNew();
        using var model = modelOptions.Load(parsed, stderr);
        using var generator = new AutomaticMaskGenerator(model, options);
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
}
