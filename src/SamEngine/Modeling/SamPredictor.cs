using System.Buffers;
using SamEngine.Backends;
using SamEngine.Processing;

namespace SamEngine.Modeling;

/// <summary>A prompt for one prediction, in original-image pixel coordinates.</summary>
public sealed record SamPrompt
{
    /// <summary>Points (x = column, y = row) with labels: 1 foreground, 0 background.</summary>
    public IReadOnlyList<(float X, float Y, int Label)> Points { get; init; } = [];

    /// <summary>Optional box (x0, y0, x1, y1).</summary>
    public float[]? Box { get; init; }

    /// <summary>Optional low-res mask logits [S/4 · S/4] from an earlier prediction.</summary>
    public float[]? MaskInput { get; init; }
}

/// <summary>
/// Masks for B prompts: <see cref="Masks"/> [B, M, H, W] (0/1), <see cref="IouPredictions"/> [B, M],
/// <see cref="LowResLogits"/> [B, M, S/4, S/4]; M = 3 with multimask, else 1.
/// </summary>
public sealed class SamPrediction
{
    private readonly Lazy<float[]> _maskLogits;

    /// <summary>A prediction; <paramref name="maskLogits"/> computes the full-size logits when first asked for.</summary>
    public SamPrediction(int batch, int maskCount, int height, int width, int lowResSize,
        byte[] masks, float[] iouPredictions, float[] lowResLogits, Func<float[]> maskLogits)
    {
        (Batch, MaskCount, Height, Width, LowResSize) = (batch, maskCount, height, width, lowResSize);
        (Masks, IouPredictions, LowResLogits) = (masks, iouPredictions, lowResLogits);
        _maskLogits = new Lazy<float[]>(maskLogits);
    }

    /// <summary>Prompts.</summary>
    public int Batch { get; }

    /// <summary>Masks per prompt.</summary>
    public int MaskCount { get; }

    /// <summary>Original image height.</summary>
    public int Height { get; }

    /// <summary>Original image width.</summary>
    public int Width { get; }

    /// <summary>Side of the low-res logits (S/4).</summary>
    public int LowResSize { get; }

    /// <summary>Binary masks [B, M, H, W], 1 where the logit is above 0.</summary>
    public byte[] Masks { get; }

    /// <summary>Predicted IoU of each mask [B, M].</summary>
    public float[] IouPredictions { get; }

    /// <summary>Low-res mask logits [B, M, S/4, S/4] (the decoder's output, and a later prompt's mask input).</summary>
    public float[] LowResLogits { get; }

    /// <summary>Mask logits at the original size [B, M, H, W], computed from the low-res ones on first use.</summary>
    public float[] MaskLogits => _maskLogits.Value;
}

/// <summary>
/// The embedding of one image, kept so that any number of prompts can be answered without the encoder.
/// It belongs to the <see cref="SamPredictor"/> that made it: <see cref="Tokens"/> (and the decoder's
/// image side prepared from it) are released when the predictor's image is replaced or the predictor
/// is disposed; <see cref="ImageEmbeddings"/> and the sizes stay readable.
/// </summary>
public sealed record ImageEmbedding(Tensor Tokens, float[] ImageEmbeddings, int OriginalHeight, int OriginalWidth, int InputHeight, int InputWidth)
{
    /// <summary>The mask decoder's image side for prompts without a mask input, made on the first such prompt.</summary>
    internal ImageSide? DecoderImageSide { get; set; }

    /// <summary>Releases the backend tensors (device buffers on a GPU backend).</summary>
    internal void Release()
    {
        DecoderImageSide?.Dispose();
        DecoderImageSide = null;
        Tokens.Dispose();
    }
}

/// <summary>
/// SAM's predictor, as the official <c>SamPredictor</c>: <see cref="SetImage"/> once, then
/// <see cref="Predict"/> any number of prompts. An instance is not thread-safe: a call made while another
/// is running on the same instance throws <see cref="InvalidOperationException"/>; use one predictor per
/// thread. Several predictors may share one <see cref="SamModel"/> on the <c>cpu</c> backend, each on its
/// own thread.
/// </summary>
public sealed class SamPredictor : IDisposable
{
    private readonly SamModel _model;
    private readonly ConcurrentUseGuard _guard = new(nameof(SamPredictor));
    private Tensor? _densePe;
    private bool _disposed;

    /// <summary>Creates a predictor over a loaded model.</summary>
    public SamPredictor(SamModel model) => _model = model;

    /// <summary>The current image's embedding (null before <see cref="SetImage"/>).</summary>
    public ImageEmbedding? Embedding { get; private set; }

    private IBackend Be => _model.Backend;

    /// <summary>The dense positional encoding as tokens [1, g·g, D].</summary>
    public Tensor DensePe
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_densePe is null)
            {
                int g = _model.Architecture.GridSize;
                using var pe = _model.PromptEncoder.DensePe(Be);
                _densePe = Be.Reshape(pe, 1, g * g, _model.Architecture.PromptEmbedDim);
            }
            return _densePe;
        }
    }

    /// <summary>Resizes, normalises and pads an RGB image (HWC bytes) as the official predictor does.</summary>
    public (byte[] Resized, int InputH, int InputW, float[] InputNhwc) Preprocess(byte[] rgb, int height, int width)
    {
        if (height <= 0 || width <= 0 || rgb.Length != (long)height * width * 3)
            throw new ArgumentException($"image of {rgb.Length} bytes is not {height} x {width} x 3 RGB");
        int s = _model.Architecture.ImgSize;
        var (h, w) = ResizeLongestSide.TargetSize(height, width, s);
        var resized = PillowResize.Resize(rgb, height, width, h, w);
        return (resized, h, w, Processing.Preprocess.ToInputTensorNhwc(resized, h, w, s));
    }

    /// <summary>
    /// Encodes an RGB image (HWC bytes). <paramref name="tap"/> receives the encoder's intermediates;
    /// <paramref name="progress"/> the number of encoder blocks done.
    /// </summary>
    public void SetImage(byte[] rgb, int height, int width, Action<string, Tensor>? tap = null, Action<int, int>? progress = null)
    {
        using var call = Enter();
        var (_, h, w, input) = Preprocess(rgb, height, width);
        int s = _model.Architecture.ImgSize, d = _model.Architecture.PromptEmbedDim, g = _model.Architecture.GridSize;
        Tensor tokens;
        float[] host;
        using (var inputTensor = Be.FromHost(input, 1, s, s, 3))
        using (var embeddings = _model.ImageEncoder.Forward(Be, inputTensor, tap, progress)) // [1, D, g, g]
        using (var channels = Be.Reshape(embeddings, 1, d, g * g))
        {
            tokens = Be.Transpose(channels);
            host = Be.ToHost(embeddings);
        }
        Replace(new ImageEmbedding(tokens, host, height, width, h, w));
    }

    /// <summary>
    /// Uses a saved embedding [1, D, g, g] instead of running the encoder; the original size must be
    /// positive and within the image pixel limit (<see cref="Postprocess.CheckOriginalSize"/>).
    /// </summary>
    public void SetEmbedding(float[] imageEmbeddings, int originalHeight, int originalWidth)
    {
        using var call = Enter();
        Postprocess.CheckOriginalSize(originalHeight, originalWidth);
        int d = _model.Architecture.PromptEmbedDim, g = _model.Architecture.GridSize;
        if (imageEmbeddings.Length != d * g * g) throw new ArgumentException($"embedding of {imageEmbeddings.Length} values does not fit this model ([1, {d}, {g}, {g}])");
        var (h, w) = ResizeLongestSide.TargetSize(originalHeight, originalWidth, _model.Architecture.ImgSize);
        Tensor tokens;
        using (var channels = Be.FromHost(imageEmbeddings, 1, d, g * g))
            tokens = Be.Transpose(channels);
        Replace(new ImageEmbedding(tokens, imageEmbeddings, originalHeight, originalWidth, h, w));
    }

    /// <summary>The new image's embedding in place of the old one, whose tensors are released now rather than by a GC.</summary>
    private void Replace(ImageEmbedding embedding)
    {
        Embedding?.Release();
        Embedding = embedding;
    }

    /// <summary>Predicts masks for one prompt.</summary>
    public SamPrediction Predict(SamPrompt prompt, bool multimask) => PredictBatch([prompt], multimask);

    /// <summary>
    /// Predicts masks for a batch of prompts that share a form (the same number of points, all or none
    /// with a box, all or none with a mask input), as one decoder pass.
    /// </summary>
    public SamPrediction PredictBatch(IReadOnlyList<SamPrompt> prompts, bool multimask)
    {
        using var call = Enter();
        var (b, m, lowResHost, iou) = DecodeLowRes(prompts, multimask);
        var emb = Embedding!;
        var arch = _model.Architecture;
        // The masks are thresholded as they are upsampled; the full-size logits only when asked for.
        var masks = GC.AllocateUninitializedArray<byte>(Postprocess.OutputLength(b * m, emb.OriginalHeight, emb.OriginalWidth));
        Postprocess.PostprocessMasks(lowResHost, b * m, arch.LowResSize, arch.ImgSize, emb.InputHeight, emb.InputWidth,
            emb.OriginalHeight, emb.OriginalWidth, default, masks);
        return new SamPrediction(b, m, emb.OriginalHeight, emb.OriginalWidth, arch.LowResSize, masks, iou, lowResHost,
            () => Postprocess.PostprocessMasks(lowResHost, b * m, arch.LowResSize, arch.ImgSize, emb.InputHeight, emb.InputWidth, emb.OriginalHeight, emb.OriginalWidth));
    }

    /// <summary>
    /// As <see cref="PredictBatch"/>, without the upsampling to the image: low-res logits
    /// [B, M, S/4, S/4] and IoU predictions [B, M], for callers that upsample only some masks
    /// (<c>Postprocess.PostprocessMasks</c> gives the same logits plane by plane).
    /// </summary>
    public (int Batch, int MaskCount, float[] LowResLogits, float[] IouPredictions) PredictLowRes(IReadOnlyList<SamPrompt> prompts, bool multimask)
    {
        using var call = Enter();
        return DecodeLowRes(prompts, multimask);
    }

    /// <summary>
    /// As <see cref="PredictLowRes(IReadOnlyList{SamPrompt}, bool)"/>, into caller-owned buffers (rented and reused by the mask generator:
    /// fresh 50 MB arrays per batch cost more in page mapping than the copy itself).
    /// <paramref name="lowRes"/> must hold B·M·(S/4)² values and <paramref name="iou"/> B·M, M = 3 with multimask, else 1.
    /// With an <paramref name="iouGate"/>, only the prompts with some predicted IoU above it get their masks
    /// computed: the planes of the others are left as they were (see <see cref="MaskDecoder.Passes"/>).
    /// </summary>
    internal void PredictLowRes(IReadOnlyList<SamPrompt> prompts, bool multimask, float[] lowRes, float[] iou, float? iouGate = null)
    {
        using var call = Enter();
        Decode(prompts, multimask, lowRes, iou, iouGate);
    }

    /// <summary>The low-res logits and IoU predictions of every prompt, in new arrays.</summary>
    private (int Batch, int MaskCount, float[] LowResLogits, float[] IouPredictions) DecodeLowRes(IReadOnlyList<SamPrompt> prompts, bool multimask)
    {
        int b = prompts.Count, m = _model.MaskDecoder.MaskCount(multimask), lr = _model.Architecture.LowResSize;
        var lowRes = new float[checked(b * m * lr * lr)];
        var iou = new float[b * m];
        Decode(prompts, multimask, lowRes, iou, iouGate: null);
        return (b, m, lowRes, iou);
    }

    /// <summary>The one decoding path: the prompts through the mask decoder, pass by pass into the host buffers.</summary>
    private void Decode(IReadOnlyList<SamPrompt> prompts, bool multimask, float[] lowRes, float[] iou, float? iouGate)
    {
        var (emb, sparse, dense) = EncodePrompts(prompts);
        using (sparse)
        using (dense)
        {
            foreach (var pass in _model.MaskDecoder.Passes(Be, emb, DensePe, sparse, dense, _model.PromptEncoder.NoMaskEmbed, multimask, iouGate))
            {
                using (pass)
                {
                    int m = pass.Iou.Dim(1);
                    Be.ToHost(pass.Iou, iou.AsSpan(pass.Start * m, pass.Iou.Length));
                    if (pass.LowRes is not { } masks) continue;
                    int perPrompt = masks.Length / pass.WithMasks.Length;
                    if (pass.WithMasks.Length == pass.Iou.Dim(0))
                    {
                        Be.ToHost(masks, lowRes.AsSpan(pass.Start * perPrompt, masks.Length));
                        continue;
                    }
                    var host = ArrayPool<float>.Shared.Rent(masks.Length);
                    Be.ToHost(masks, host.AsSpan(0, masks.Length));
                    for (int j = 0; j < pass.WithMasks.Length; j++)
                        host.AsSpan(j * perPrompt, perPrompt).CopyTo(lowRes.AsSpan((pass.Start + pass.WithMasks[j]) * perPrompt));
                    ArrayPool<float>.Shared.Return(host);
                }
            }
        }
    }

    /// <summary>The prompts' sparse [B, N, D] and, with mask inputs, dense [B, g·g, D] embeddings.</summary>
    private (ImageEmbedding Embedding, Tensor Sparse, Tensor? Dense) EncodePrompts(IReadOnlyList<SamPrompt> prompts)
    {
        var emb = Embedding ?? throw new InvalidOperationException("call SetImage (or SetEmbedding) before Predict");
        var arch = _model.Architecture;
        var enc = PromptEncoding.Encode(prompts, emb, arch);
        int b = prompts.Count;
        var sparseHost = _model.PromptEncoder.EmbedSparse(b, enc.Points, enc.Labels, enc.PointsPerPrompt, enc.Boxes, out int tokens);
        // The dense side first: should it fail, no sparse tensor is left undisposed.
        Tensor? dense = null;
        if (enc.MaskInputs is not null)
        {
            using var maskInputs = Be.FromHost(enc.MaskInputs, b, arch.LowResSize, arch.LowResSize);
            dense = _model.PromptEncoder.EmbedMask(Be, maskInputs);
        }
        var sparse = Be.FromHost(sparseHost, b, tokens, arch.PromptEmbedDim);
        LastSparse = sparseHost;
        LastDense = dense is null ? null : Be.ToHost(dense);
        return (emb, sparse, dense);
    }

    /// <summary>The sparse embeddings [B, N, D] of the last prediction (for parity checks).</summary>
    public float[]? LastSparse { get; private set; }

    /// <summary>The dense embeddings [B, g·g, D] of the last prediction with a mask input, as tokens.</summary>
    public float[]? LastDense { get; private set; }

    /// <summary>Releases the current embedding's and the positional encoding's backend tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        using var call = _guard.Enter();
        _disposed = true;
        Embedding?.Release();
        _densePe?.Dispose();
        _densePe = null;
    }

    /// <summary>Starts a call: refused on a disposed predictor or while another call runs.</summary>
    private ConcurrentUseGuard.Scope Enter()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _guard.Enter();
    }
}
