using SamEngine.Amg;
using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Batch;

/// <summary><c>amg</c> over a batch: one <see cref="AutomaticMaskGenerator"/> for every image, written as <paramref name="format"/>.</summary>
public sealed class AmgBatchWork(AutomaticMaskGenerator generator, BatchFormat format) : IBatchWork
{
    /// <inheritdoc />
    public BatchFormat Format { get; } = format is BatchFormat.Sa1b or BatchFormat.AmgFolder or BatchFormat.Coco ? format
        : throw new ArgumentException($"amg writes sa1b, amg-folder or coco, not {format.Name()}");

    /// <inheritdoc />
    public BatchOutput Run(BatchImage image, RgbImage rgb, PreprocessedImage input)
    {
        var records = generator.Generate(rgb.Pixels, rgb.Height, rgb.Width, preprocessed: input);
        return Format == BatchFormat.AmgFolder
            ? new BatchOutput(records.Count, dir => AmgFolder.Write(dir, records))
            : new BatchOutput(records.Count, file =>
            {
                using var stream = File.Create(file);
                Sa1bJson.Write(stream, image, rgb.Height, rgb.Width, records);
            });
    }
}

/// <summary><c>embed</c> over a batch: the image embedding of every image (<see cref="EmbeddingFile"/>).</summary>
public sealed class EmbedBatchWork(SamModel model) : IBatchWork, IDisposable
{
    private readonly SamPredictor _predictor = new(model);

    /// <inheritdoc />
    public BatchFormat Format => BatchFormat.Embedding;

    /// <inheritdoc />
    public BatchOutput Run(BatchImage image, RgbImage rgb, PreprocessedImage input)
    {
        _predictor.SetImage(rgb.Pixels, rgb.Height, rgb.Width, preprocessed: input);
        var embedding = _predictor.Embedding!;
        // The host arrays stay readable after the next image replaces the embedding, so the writer may lag.
        return new BatchOutput(null, file => EmbeddingFile.Save(file, model, embedding));
    }

    /// <inheritdoc />
    public void Dispose() => _predictor.Dispose();
}
