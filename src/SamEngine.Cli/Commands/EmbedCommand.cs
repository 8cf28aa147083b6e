using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine embed</c>: runs the image encoder once and saves the embedding for later prompts.</summary>
public static class EmbedCommand
{
    public const string Help = """
        usage: samengine embed --model M --image IMG --out EMB.safetensors [--arch A]

        Encodes IMG and writes its embedding (with the image sizes, the architecture and the model's
        fingerprint) so that 'samengine segment --embedding EMB' answers prompts without the encoder.
        """ + "\n\n" + ModelOptions.Help + "\n" + """
          --image IMG        JPEG, PNG, BMP, GIF, WebP or TIFF photo
          --out FILE         the embedding (.safetensors)
        """;

    public static int Run(IReadOnlyList<string> argv, TextWriter stdout, TextWriter stderr)
    {
        var args = new CliArgs("embed", argv, [.. ModelOptions.Names, "--image", "--out"], []);
        string imagePath = args.Required("embed", "--image");
        string outPath = args.Required("embed", "--out");
        var image = ImageLoader.Load(imagePath);
        using var model = ModelOptions.Load(args, "embed", stderr);
        var predictor = new SamPredictor(model);
        TerminalProgress.Show(stderr, "encoding image: block", progress => { predictor.SetImage(image, progress); return 0; });
        EmbeddingFile.Save(outPath, model, predictor.Embedding!);
        stdout.WriteLine($"embed: {image.Width} x {image.Height} image -> {outPath}");
        return 0;
    }
}
