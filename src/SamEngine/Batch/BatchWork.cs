using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Batch;

/// <summary>What a batch writes per image.</summary>
public enum BatchFormat
{
    /// <summary><c>a/b.json</c>: SA-1B's per-image JSON (<see cref="Sa1bJson"/>); <c>amg</c>'s default.</summary>
    Sa1b,

    /// <summary><c>a/b/</c>: a PNG per mask and metadata.csv, as <c>amg.py</c> (<see cref="AmgFolder"/>).</summary>
    AmgFolder,

    /// <summary><c>a/b.json</c> as <see cref="Sa1b"/>, and <c>coco.json</c> (<see cref="CocoDataset"/>) over all images at the end.</summary>
    Coco,

    /// <summary><c>a/b.safetensors</c>: the image embedding (<see cref="EmbeddingFile"/>); <c>embed</c>'s.</summary>
    Embedding,
}

/// <summary>One image's result, ready to be written: <see cref="Write"/> fills the temporary file (or folder) it is given.</summary>
/// <param name="Masks">The masks made (<c>amg</c>); null for an embedding.</param>
/// <param name="Write">Writes the output to the path it gets.</param>
public sealed record BatchOutput(int? Masks, Action<string> Write);

/// <summary>
/// The model's part of a batch, run on one thread, one image after another: the image comes decoded and
/// preprocessed (<see cref="SamPredictor.Preprocess"/>) by the batch's reader thread.
/// </summary>
public interface IBatchWork
{
    /// <summary>The format of the outputs.</summary>
    BatchFormat Format { get; }

    /// <summary>Runs the model on one image.</summary>
    BatchOutput Run(BatchImage image, RgbImage rgb, PreprocessedImage input);
}

/// <summary>Output paths of the formats.</summary>
public static class BatchFormats
{
    /// <summary>The output of the image <paramref name="key"/> (<c>a/b.jpg</c>) relative to the output folder: <c>a/b.json</c>, <c>a/b</c> or <c>a/b.safetensors</c>.</summary>
    public static string OutputName(this BatchFormat format, string key)
    {
        string dir = Path.GetDirectoryName(key)?.Replace('\\', '/') ?? "";
        string stem = (dir.Length > 0 ? dir + "/" : "") + Path.GetFileNameWithoutExtension(key);
        return format switch
        {
            BatchFormat.AmgFolder => stem,
            BatchFormat.Embedding => stem + ".safetensors",
            _ => stem + ".json",
        };
    }

    /// <summary>Whether the output is a folder.</summary>
    public static bool IsFolder(this BatchFormat format) => format == BatchFormat.AmgFolder;

    /// <summary>The format named <paramref name="name"/> (as <see cref="Name"/> writes it), if it is one of <paramref name="allowed"/>.</summary>
    public static bool TryParse(string name, IEnumerable<BatchFormat> allowed, out BatchFormat format)
    {
        foreach (var f in allowed)
            if (f.Name() == name)
            {
                format = f;
                return true;
            }
        format = default;
        return false;
    }

    /// <summary>The name <c>--format</c> takes.</summary>
    public static string Name(this BatchFormat format) => format switch
    {
        BatchFormat.Sa1b => "sa1b",
        BatchFormat.AmgFolder => "amg-folder",
        BatchFormat.Coco => "coco",
        _ => "embedding",
    };
}
