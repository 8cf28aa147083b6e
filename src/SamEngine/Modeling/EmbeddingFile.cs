using System.Globalization;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Parity;

namespace SamEngine.Modeling;

/// <summary>
/// Saves and loads an image embedding as safetensors: the tensor <c>image_embeddings</c> [1, D, g, g]
/// (float32) with the original and input image sizes, the model's architecture and its weight
/// fingerprint in the metadata, so that prompts can be answered later without the encoder and an
/// embedding made by another model is refused; <c>encoder_precision</c> (fp32, fp16, int8) says how it was computed. A SAM 2.1 embedding also holds its high-resolution
/// levels, <c>high_res_feats_0</c> [1, D/8, 4g, 4g] and <c>high_res_feats_1</c> [1, D/4, 2g, 2g].
/// </summary>
public static class EmbeddingFile
{
    private const string Format = "samengine-embedding-v1";

    /// <summary>Writes the predictor's current embedding to <paramref name="path"/> (atomically).</summary>
    public static void Save(string path, SamModel model, ImageEmbedding embedding)
    {
        var (writer, metadata) = Build(model, embedding);
        writer.Write(path, metadata);
    }

    /// <summary>Writes the embedding file's bytes to <paramref name="stream"/> (an HTTP response, say).</summary>
    public static void Save(Stream stream, SamModel model, ImageEmbedding embedding)
    {
        var (writer, metadata) = Build(model, embedding);
        writer.Write(stream, metadata);
    }

    private static (SafeTensorsWriter Writer, Dictionary<string, string> Metadata) Build(SamModel model, ImageEmbedding embedding)
    {
        var a = model.Architecture;
        var writer = new SafeTensorsWriter();
        int d = a.PromptEmbedDim, g = a.GridSize;
        writer.AddFloat32("image_embeddings", [1, d, g, g], embedding.ImageEmbeddings);
        if (embedding.HighResFeats0 is { } f0 && embedding.HighResFeats1 is { } f1)
        {
            writer.AddFloat32("high_res_feats_0", [1, d / 8, 4 * g, 4 * g], f0);
            writer.AddFloat32("high_res_feats_1", [1, d / 4, 2 * g, 2 * g], f1);
        }
        var ci = CultureInfo.InvariantCulture;
        return (writer, new Dictionary<string, string>
        {
            ["format"] = Format,
            ["original_height"] = embedding.OriginalHeight.ToString(ci),
            ["original_width"] = embedding.OriginalWidth.ToString(ci),
            ["input_height"] = embedding.InputHeight.ToString(ci),
            ["input_width"] = embedding.InputWidth.ToString(ci),
            ["sam_architecture"] = a.ToJson(),
            ["model_fingerprint"] = model.Fingerprint,
            ["model"] = model.Description,
            ["encoder_precision"] = embedding.EncoderPrecision.Name(),
        });
    }

    /// <summary>
    /// Reads an embedding saved by <see cref="Save(string, SamModel, ImageEmbedding)"/> and puts it into <paramref name="predictor"/>;
    /// throws <see cref="ArgumentException"/> naming the file and the field when it was made by another
    /// model or its metadata claims a size that is not a positive integer or is over the image pixel
    /// limit (<see cref="Processing.Postprocess.CheckOriginalSize"/>): a file cannot make the
    /// predictor allocate more than an image could.
    /// </summary>
    public static ImageEmbedding Load(string path, SamModel model, SamPredictor predictor)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"embedding '{path}' does not exist");
        return Load(path, path, model, predictor);
    }

    /// <summary>
    /// As <see cref="Load(string, SamModel, SamPredictor)"/>, with errors naming the file
    /// <paramref name="name"/> rather than its path (an upload kept in a temporary file).
    /// </summary>
    public static ImageEmbedding Load(string path, string name, SamModel model, SamPredictor predictor)
    {
        using var file = OpenNamed(path, name);
        var meta = file.Metadata;
        string Meta(string key) => meta.TryGetValue(key, out var v) ? v
            : throw new ArgumentException($"'{name}' is not a samengine embedding (metadata '{key}' is missing)");
        if (Meta("format") != Format) throw new ArgumentException($"'{name}' is not a samengine embedding (format '{meta["format"]}')");
        SamArchitecture arch;
        try { arch = SamArchitecture.FromJson(Meta("sam_architecture")); }
        catch (ArgumentException bad) { throw new ArgumentException($"embedding '{name}': metadata 'sam_architecture': {bad.Message}", bad); }
        var a = model.Architecture;
        if (arch.Family != a.Family)
            throw new ArgumentException($"embedding '{name}' is a {Name(arch.Family)} embedding; it cannot be used with the {Name(a.Family)} model {model.Description}");
        if (!arch.Equals(a))
            throw new ArgumentException($"embedding '{name}' was made by a model of another architecture ({Meta("model")}); it cannot be used with {model.Description}");
        if (Meta("model_fingerprint") != model.Fingerprint)
            throw new ArgumentException($"embedding '{name}' was made by another model ({Meta("model")}, other weights); it cannot be used with {model.Description}");
        int Int(string key) => int.TryParse(Meta(key), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v
            : throw new ArgumentException($"embedding '{name}': metadata '{key}' is not a positive integer");
        int h = Int("original_height"), w = Int("original_width");
        try { Processing.Postprocess.CheckOriginalSize(h, w); }
        catch (ArgumentException bad) { throw new ArgumentException($"embedding '{name}': metadata 'original_height' x 'original_width': {bad.Message}", bad); }
        if (!file.Contains("image_embeddings")) throw new ArgumentException($"embedding '{name}' has no tensor 'image_embeddings'");
        int[] shape = [1, a.PromptEmbedDim, a.GridSize, a.GridSize];
        if (!file.Info("image_embeddings").Shape.AsSpan().SequenceEqual(shape))
            throw new ArgumentException($"embedding '{name}': tensor 'image_embeddings' is {Weights.ShapeUtil.Format(file.Info("image_embeddings").Shape)}, expected {Weights.ShapeUtil.Format(shape)}");
        // Checked before the predictor is touched, so a refused file leaves its state as it was.
        var (inputH, inputW) = a.Family == ModelFamily.Sam2 ? (a.ImgSize, a.ImgSize) : Processing.ResizeLongestSide.TargetSize(h, w, a.ImgSize);
        if (inputH != Int("input_height") || inputW != Int("input_width"))
            throw new ArgumentException($"embedding '{name}': input size {Int("input_height")} x {Int("input_width")} does not match the original size {h} x {w}");
        float[]? level0 = null, level1 = null;
        if (a.Family == ModelFamily.Sam2)
        {
            level0 = Level("high_res_feats_0", [1, a.PromptEmbedDim / 8, 4 * a.GridSize, 4 * a.GridSize]);
            level1 = Level("high_res_feats_1", [1, a.PromptEmbedDim / 4, 2 * a.GridSize, 2 * a.GridSize]);
        }
        // Files written before the field existed were all made in fp32.
        var precision = !meta.TryGetValue("encoder_precision", out var p) ? Precision.Fp32
            : PrecisionNames.Parse(p) ?? throw new ArgumentException($"embedding '{name}': metadata 'encoder_precision' is '{p}', not {PrecisionNames.List}");
        predictor.SetEmbedding(file.ReadFloat32("image_embeddings"), h, w, level0, level1, precision);
        return predictor.Embedding!;

        float[] Level(string tensor, int[] want)
        {
            if (!file.Contains(tensor)) throw new ArgumentException($"embedding '{name}' has no tensor '{tensor}' (a SAM 2.1 embedding holds three levels)");
            if (!file.Info(tensor).Shape.AsSpan().SequenceEqual(want))
                throw new ArgumentException($"embedding '{name}': tensor '{tensor}' is {Weights.ShapeUtil.Format(file.Info(tensor).Shape)}, expected {Weights.ShapeUtil.Format(want)}");
            return file.ReadFloat32(tensor);
        }
    }

    /// <summary>Opens the file; a malformed one is reported under <paramref name="name"/>, not its path.</summary>
    private static SafeTensorsFile OpenNamed(string path, string name)
    {
        try { return SafeTensorsFile.Open(path); }
        catch (SafeTensorsException bad) when (name != path) { throw new SafeTensorsException(bad.Message.Replace(path, name), bad); }
    }

    private static string Name(ModelFamily f) => f == ModelFamily.Sam2 ? "SAM 2.1" : "SAM 1";
}
