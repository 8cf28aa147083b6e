using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Server;

/// <summary>
/// One image the server remembers: its embedding (host copy, the part the cache budget is about), its
/// pixels when it was uploaded as an image (the mask generator needs them), the low-res logits of its
/// recent predictions (for <c>mask_input</c>) and idle predictors already holding the embedding.
/// </summary>
/// <remarks>
/// A <see cref="SamPredictor"/> serves one call at a time, so every decoder request rents one: an idle one
/// if there is one, else a new one given the embedding with <see cref="SamPredictor.SetEmbedding"/>. One
/// predictor is kept idle per image (the one-user case never pays for <c>SetEmbedding</c>); more
/// concurrent requests make short-lived ones. Predictors returned after eviction are disposed.
/// </remarks>
public sealed class CachedImage
{
    private readonly SamModel _model;
    private readonly int _resultsKept;
    private readonly object _lock = new();
    private SamPredictor? _idle;
    private readonly LinkedList<PredictionResult> _results = new();
    private bool _evicted;

    /// <summary>An image whose embedding is held by <paramref name="encoded"/> (now owned by this entry).</summary>
    public CachedImage(string id, SamModel model, SamPredictor encoded, RgbImage? pixels, int resultsKept)
    {
        (Id, _model, _idle, Pixels, _resultsKept) = (id, model, encoded, pixels, resultsKept);
        Embedding = encoded.Embedding ?? throw new ArgumentException("the predictor holds no embedding");
        long floats = Embedding.ImageEmbeddings.LongLength + (Embedding.HighResFeats0?.LongLength ?? 0) + (Embedding.HighResFeats1?.LongLength ?? 0);
        // The host copy and the idle predictor's backend copy.
        FixedBytes = 2 * 4 * floats + (pixels?.Pixels.LongLength ?? 0);
        ResultBytes = 4L * model.Architecture.NumMultimaskOutputs * model.Architecture.LowResSize * model.Architecture.LowResSize;
    }

    /// <summary>The id clients use.</summary>
    public string Id { get; }

    /// <summary>The embedding and the original image size.</summary>
    public ImageEmbedding Embedding { get; }

    /// <summary>Original height.</summary>
    public int Height => Embedding.OriginalHeight;

    /// <summary>Original width.</summary>
    public int Width => Embedding.OriginalWidth;

    /// <summary>The pixels, or null for an image known only by an uploaded embedding.</summary>
    public RgbImage? Pixels { get; }

    /// <summary>Bytes that do not change: embedding (twice: host and backend) and pixels.</summary>
    public long FixedBytes { get; }

    /// <summary>The most bytes one kept result takes (multimask logits).</summary>
    public long ResultBytes { get; }

    /// <summary>What the cache counts for this image: the fixed bytes and a full set of kept results.</summary>
    public long Bytes => FixedBytes + _resultsKept * ResultBytes;

    /// <summary>A predictor holding this image's embedding, for one call; dispose the lease to give it back.</summary>
    public PredictorLease Rent()
    {
        lock (_lock)
        {
            if (_idle is { } idle)
            {
                _idle = null;
                return new PredictorLease(this, idle);
            }
        }
        var predictor = new SamPredictor(_model);
        try
        {
            predictor.SetEmbedding(Embedding.ImageEmbeddings, Height, Width, Embedding.HighResFeats0, Embedding.HighResFeats1);
        }
        catch
        {
            predictor.Dispose();
            throw;
        }
        return new PredictorLease(this, predictor);
    }

    private void Return(SamPredictor predictor)
    {
        lock (_lock)
        {
            if (!_evicted && _idle is null)
            {
                _idle = predictor;
                return;
            }
        }
        predictor.Dispose();
    }

    /// <summary>Keeps a prediction's low-res logits under a new result id (the oldest kept one is forgotten).</summary>
    public string Keep(SamPrediction prediction)
    {
        var result = new PredictionResult(ServerIds.New(), prediction.MaskCount, prediction.LowResLogits, prediction.IouPredictions);
        lock (_lock)
        {
            _results.AddFirst(result);
            while (_results.Count > _resultsKept) _results.RemoveLast();
        }
        return result.Id;
    }

    /// <summary>
    /// The low-res logits named by <paramref name="reference"/>: <c>RESULT</c> (its best-scoring mask) or
    /// <c>RESULT:K</c> (mask K); null when the result is not (or no longer) kept.
    /// </summary>
    public float[]? MaskInput(string reference, out string? problem)
    {
        problem = null;
        string id = reference;
        int? index = null;
        int colon = reference.LastIndexOf(':');
        if (colon > 0)
        {
            id = reference[..colon];
            if (!int.TryParse(reference[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int k))
            {
                problem = $"'{reference}' is not RESULT_ID or RESULT_ID:K";
                return null;
            }
            index = k;
        }
        PredictionResult? result;
        lock (_lock) result = _results.FirstOrDefault(r => r.Id == id);
        if (result is null)
        {
            problem = $"no result '{id}' for this image (the last {_resultsKept} predictions of an image are kept)";
            return null;
        }
        int m = index ?? Array.IndexOf(result.Scores, result.Scores.Max());
        if (m >= result.MaskCount)
        {
            problem = $"result '{id}' has {result.MaskCount} mask(s); mask {m} does not exist";
            return null;
        }
        int plane = result.LowResLogits.Length / result.MaskCount;
        return result.LowResLogits.AsSpan(m * plane, plane).ToArray();
    }

    /// <summary>Forgets the idle predictor (backend memory freed now); rented ones are disposed when returned.</summary>
    internal void Evict()
    {
        SamPredictor? idle;
        lock (_lock)
        {
            _evicted = true;
            idle = _idle;
            _idle = null;
            _results.Clear();
        }
        idle?.Dispose();
    }

    private sealed record PredictionResult(string Id, int MaskCount, float[] LowResLogits, float[] Scores);

    /// <summary>A rented predictor; disposing gives it back to its image.</summary>
    public readonly struct PredictorLease(CachedImage owner, SamPredictor predictor) : IDisposable
    {
        /// <summary>The predictor, holding the image's embedding.</summary>
        public SamPredictor Predictor => predictor;

        /// <summary>Gives the predictor back.</summary>
        public void Dispose() => owner.Return(predictor);
    }
}
