using System.CommandLine;
using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine embed</c>: runs the image encoder once and saves the embedding for later prompts.</summary>
public static class EmbedCommand
{
    /// <summary>The <c>embed</c> verb.</summary>
    public static Verb Create()
    {
        var verb = new Verb("embed", "encode an image once and save the embedding",
            "samengine embed --model M --image IMG --out EMB.safetensors [--arch A]", """
            Encodes IMG and writes its embedding (with the image sizes, the architecture and the model's
            fingerprint) so that 'samengine segment --embedding EMB' answers prompts without the encoder.
            """);
        var model = new ModelOptions(verb);
        var image = CliOptions.Required("--image", "IMG", "JPEG, PNG, BMP, GIF, WebP or TIFF photo");
        var outPath = CliOptions.Required("--out", "FILE", "the embedding (.safetensors)");
        verb.Add(image);
        verb.Add(outPath);
        verb.SetAction(parsed => Run(parsed, model, parsed.GetRequiredValue(image), parsed.GetRequiredValue(outPath),
            parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));
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
