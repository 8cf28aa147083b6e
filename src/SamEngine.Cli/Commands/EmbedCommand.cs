using System.CommandLine;
using SamEngine.Batch;
using SamEngine.Cli.Batch;
using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine embed</c>: runs the image encoder once and saves the embedding for later prompts.</summary>
public static class EmbedCommand
{
    /// <summary>The <c>embed</c> verb.</summary>
    public static Verb Create()
    {
        var verb = new Verb("embed", "encode an image (or a dataset) once and save the embedding",
            "samengine embed --model M --image IMG --out EMB.safetensors [--arch A]\n" +
            "       samengine embed --model M --images DIR|LIST.txt|GLOB --out OUT [--shard I/N] [--fail-fast] [--arch A]", """
            Encodes IMG and writes its embedding (with the image sizes, the architecture and the model's
            fingerprint) so that 'samengine segment --embedding EMB' answers prompts without the encoder.
            With --images it encodes every image, the model loaded once: an input a/b.jpg gives OUT/a/b.safetensors;
            each finished image adds a line to OUT/manifest.jsonl, and running the same command again
            skips the images already done.
            """);
        var model = new ModelOptions(verb);
        var image = CliOptions.Text("--image", "IMG", "JPEG, PNG, BMP, GIF, WebP or TIFF photo");
        var outPath = CliOptions.Required("--out", "FILE|DIR", "the embedding (.safetensors); with --images the output folder");
        verb.Add(image);
        verb.Add(outPath);
        var batch = new BatchOptions(verb, BatchFormat.Embedding);
        verb.SetAction(parsed =>
        {
            var (stdout, stderr) = (parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error);
            return batch.IsBatch(parsed, image)
                ? batch.Run(parsed, parsed.GetRequiredValue(outPath), () => model.Load(parsed, stderr), (m, _) => new EmbedBatchWork(m), stdout, stderr)
                : Run(parsed, model, parsed.GetValue(image)!, parsed.GetRequiredValue(outPath), stdout, stderr);
        });
        return verb;
    }

    private static int Run(ParseResult parsed, ModelOptions modelOptions, string imagePath, string outPath, TextWriter stdout, TextWriter stderr)
    {
        var image = ImageLoader.Load(imagePath);
        using var model = modelOptions.Load(parsed, stderr);
        using var predictor = new SamPredictor(model);
        TerminalProgress.Show(stderr, "encoding image: block", progress => { predictor.SetImage(image, progress); return 0; });
        EmbeddingFile.Save(outPath, model, predictor.Embedding!);
        stdout.WriteLine($"embed: {image.Width} x {image.Height} image -> {outPath}");
        return 0;
    }
}
