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
/// <remarks>
/// Disposing a prediction is optional: it hands <see cref="Masks"/> and <see cref="LowResLogits"/> back to
/// the predictor for its next prediction of the same size (a click loop then touches no new memory), so
/// neither array, nor <see cref="MaskLogits"/>, may be used after <see cref="Dispose"/>. A prediction that
/// is not disposed keeps its arrays for good.
/// </remarks>
public sealed class SamPrediction : IDisposable
{
    private readonly Lazy<float[]> _maskLogits;
    private Action? _release;

    /// <summary>
    /// A prediction; <paramref name="maskLogits"/> computes the full-size logits when first asked for,
    /// <paramref name="release"/> (optional) hands the arrays back when the prediction is disposed.
    /// </summary>
    public SamPrediction(int batch, int maskCount, int height, int width, int lowResSize,
        byte[] masks, float[] iouPredictions, float[] lowResLogits, Func<float[]> maskLogits, float[]? objectScoreLogits = null,
        Action? release = null)
    {
        (Batch, MaskCount, Height, Width, LowResSize) = (batch, maskCount, height, width, lowResSize);
        (Masks, IouPredictions, LowResLogits, ObjectScoreLogits) = (masks, iouPredictions, lowResLogits, objectScoreLogits);
        _maskLogits = new Lazy<float[]>(() => _release is null && release is not null
            ? throw new ObjectDisposedException(nameof(SamPrediction), "the prediction was disposed: its arrays went back to the predictor")
            : maskLogits());
        _release = release;
    }

    /// <summary>Hands the mask and low-res arrays back to the predictor that made them (see remarks).</summary>
    public void Dispose()
    {
        var release = Interlocked.Exchange(ref _release, null);
        release?.Invoke();
    }

    /// <summary>SAM 2.1's object-score logit of each prompt [B] (above 0: an object is there); null for SAM 1.</summary>
    public float[]? ObjectScoreLogits { get; }

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

    /// <summary>
    /// Low-res mask logits [B, M, S/4, S/4] (the decoder's output, and a later prompt's mask input); SAM 2.1's
    /// clamped to ±32 as its predictor returns them.
    /// </summary>
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
/// <remarks>
/// SAM 2.1's embedding also holds the two finer feature levels after <c>conv_s0</c> / <c>conv_s1</c>, the
/// decoder's skips: <see cref="HighResFeats0"/> [1, D/8, 4g, 4g] and <see cref="HighResFeats1"/>
/// [1, D/4, 2g, 2g] on the host (NCHW, as the reference stores them), NHWC on the backend.
/// <see cref="ImageEmbeddings"/> is then the lowest-resolution level with <c>no_mem_embed</c> added.
/// </remarks>
public sealed record ImageEmbedding(Tensor Tokens, float[] ImageEmbeddings, int OriginalHeight, int OriginalWidth, int InputHeight, int InputWidth)
{
    /// <summary>SAM 2.1's <c>high_res_feats[0]</c> [1, D/8, 4g, 4g]; null for SAM 1.</summary>
    public float[]? HighResFeats0 { get; init; }

    /// <summary>SAM 2.1's <c>high_res_feats[1]</c> [1, D/4, 2g, 2g]; null for SAM 1.</summary>
    public float[]? HighResFeats1 { get; init; }

    /// <summary>
    /// The precision of the encoder that made the embedding (the backend's, or what an embedding file
    /// records): int8 or fp16 embeddings differ from fp32 ones by up to about 1e-2 (README 'Low precision').
    /// </summary>
    public Parity.Precision EncoderPrecision { get; init; } = Parity.Precision.Fp32;

    /// <summary>The decoder's skip feat_s0 [1, 4g, 4g, D/8] on the backend (SAM 2.1).</summary>
    internal Tensor? FeatS0 { get; init; }

    /// <summary>The decoder's skip feat_s1 [1, 2g, 2g, D/4] on the backend (SAM 2.1).</summary>
    internal Tensor? FeatS1 { get; init; }

    /// <summary>The mask decoder's image side for prompts without a mask input, made on the first such prompt.</summary>
    internal ImageSide? DecoderImageSide { get; set; }

    /// <summary>Releases the backend tensors (device buffers on a GPU backend).</summary>
    internal void Release()
    {
        DecoderImageSide?.Dispose();
        DecoderImageSide = null;
        Tokens.Dispose();
        FeatS0?.Dispose();
        FeatS1?.Dispose();
    }
}

/// <summary>
/// An image as the encoder takes it (<see cref="SamPredictor.Preprocess"/>): SAM 1's resized bytes
/// (<paramref name="Resized"/>, null for SAM 2.1), the input size before padding, and the normalised,
/// padded input [1, S, S, 3].
/// </summary>
public sealed record PreprocessedImage(byte[]? Resized, int InputH, int InputW, float[] InputNhwc)
{
    /// <summary>The original image's rows.</summary>
    public int Height { get; init; }

    /// <summary>The original image's columns.</summary>
    public int Width { get; init; }
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
    private readonly float _maxHoleArea, _maxSprinkleArea;
    private readonly RecycledArrays<float> _recycledFloats = new();
    private readonly RecycledArrays<byte> _recycledBytes = new();
    private Tensor? _densePe;
    private bool _disposed;

    /// <summary>
    /// Creates a predictor over a loaded model. <paramref name="maxHoleArea"/> and
    /// <paramref name="maxSprinkleArea"/> are <c>SAM2ImagePredictor</c>'s clean-up of the masks (0: off):
    /// background regions and foreground specks up to that many low-res pixels are flipped before the
    /// masks are upsampled (<see cref="Sam2Transforms.RemoveHolesAndSprinkles"/>).
    /// </summary>
    public SamPredictor(SamModel model, float maxHoleArea = 0, float maxSprinkleArea = 0)
    {
        if (!(maxHoleArea >= 0) || !(maxSprinkleArea >= 0)) throw new ArgumentException($"max hole area {maxHoleArea} and max sprinkle area {maxSprinkleArea} must be 0 or more");
        (_model, _maxHoleArea, _maxSprinkleArea) = (model, maxHoleArea, maxSprinkleArea);
    }

    private bool IsSam2 => _model.Architecture.Family == Config.ModelFamily.Sam2;

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

    /// <summary>
    /// Resizes, normalises and pads an RGB image (HWC bytes) as the official predictor does: SAM 1's
    /// longest-side resize of the bytes (returned as <c>Resized</c>), or SAM 2.1's square
    /// antialiased resize of the float image (<see cref="Sam2Transforms"/>; no resized bytes, input S x S).
    /// </summary>
    /// <remarks>
    /// Reads only the architecture, so it may run on another thread while this predictor encodes (a batch
    /// prepares the next image meanwhile) and the result be handed to <see cref="SetImage"/>.
    /// </remarks>
    public PreprocessedImage Preprocess(byte[] rgb, int height, int width)
    {
        if (height <= 0 || width <= 0 || rgb.Length != (long)height * width * 3)
            throw new ArgumentException($"image of {rgb.Length} bytes is not {height} x {width} x 3 RGB");
        int s = _model.Architecture.ImgSize;
        if (IsSam2) return new(null, s, s, Sam2Transforms.ToInputTensorNhwc(rgb, height, width, s)) { Height = height, Width = width };
        var (h, w) = ResizeLongestSide.TargetSize(height, width, s);
        var resized = PillowResize.Resize(rgb, height, width, h, w);
        return new(resized, h, w, Processing.Preprocess.ToInputTensorNhwc(resized, h, w, s)) { Height = height, Width = width };
    }

    /// <summary>
    /// Encodes an RGB image (HWC bytes). <paramref name="tap"/> receives the encoder's intermediates;
    /// <paramref name="progress"/> the number of encoder blocks done; <paramref name="preprocessed"/> is
    /// this image's <see cref="Preprocess"/>, made beforehand (null: made here).
    /// </summary>
    public void SetImage(byte[] rgb, int height, int width, Action<string, Tensor>? tap = null, Action<int, int>? progress = null,
        PreprocessedImage? preprocessed = null)
    {
        using var call = Enter();
        if (preprocessed is not null && (preprocessed.Height != height || preprocessed.Width != width
                                         || preprocessed.InputNhwc.Length != _model.Architecture.ImgSize * _model.Architecture.ImgSize * 3))
            throw new ArgumentException($"the preprocessed input was made from a {preprocessed.Height} x {preprocessed.Width} image for another input size, not this {height} x {width} image");
        var (_, h, w, input) = preprocessed ?? Preprocess(rgb, height, width);
        int s = _model.Architecture.ImgSize, d = _model.Architecture.PromptEmbedDim, g = _model.Architecture.GridSize;
        if (IsSam2)
        {
            using var image = Be.FromHost(input, 1, s, s, 3);
            var levels = _model.HieraEncoder.Forward(Be, image, tap, progress);
            try { Replace(Sam2Embedding(levels[0], levels[1], levels[2], height, width)); }
            finally { foreach (var level in levels) level.Dispose(); }
            return;
        }
        Tensor tokens;
        float[] host;
        using (var inputTensor = Be.FromHost(input, 1, s, s, 3))
        using (var embeddings = _model.Architecture.TinyVit is null // [1, D, g, g]
            ? _model.ImageEncoder.Forward(Be, inputTensor, tap, progress)
            : _model.TinyVitEncoder.Forward(Be, inputTensor, tap, progress))
        using (var channels = Be.Reshape(embeddings, 1, d, g * g))
        {
            tokens = Be.Transpose(channels);
            host = Be.ToHost(embeddings);
        }
        Replace(new ImageEmbedding(tokens, host, height, width, h, w) { EncoderPrecision = Be.Precision });
    }

    /// <summary>
    /// Uses a saved embedding [1, D, g, g] instead of running the encoder; the original size must be
    /// positive and within the image pixel limit (<see cref="Postprocess.CheckOriginalSize"/>). A SAM 2.1
    /// model also needs its high-resolution features (<see cref="ImageEmbedding.HighResFeats0"/> [1, D/8, 4g, 4g],
    /// <see cref="ImageEmbedding.HighResFeats1"/> [1, D/4, 2g, 2g]); a SAM 1 model has none.
    /// <paramref name="encoderPrecision"/> says how the embedding was computed (<see cref="ImageEmbedding.EncoderPrecision"/>).
    /// </summary>
    public void SetEmbedding(float[] imageEmbeddings, int originalHeight, int originalWidth, float[]? highResFeats0 = null, float[]? highResFeats1 = null,
        Parity.Precision encoderPrecision = Parity.Precision.Fp32)
    {
        using var call = Enter();
        Postprocess.CheckOriginalSize(originalHeight, originalWidth);
        var a = _model.Architecture;
        int d = a.PromptEmbedDim, g = a.GridSize;
        if (imageEmbeddings.Length != d * g * g) throw new ArgumentException($"embedding of {imageEmbeddings.Length} values does not fit this model ([1, {d}, {g}, {g}])");
        if (!IsSam2 && (highResFeats0 is not null || highResFeats1 is not null))
            throw new ArgumentException("high-resolution features are SAM 2.1's; this SAM 1 model has none");
        if (IsSam2 && (highResFeats0?.Length != d / 8 * 16 * g * g || highResFeats1?.Length != d / 4 * 4 * g * g))
            throw new ArgumentException($"a SAM 2.1 embedding needs high_res_feats_0 [1, {d / 8}, {4 * g}, {4 * g}] and high_res_feats_1 [1, {d / 4}, {2 * g}, {2 * g}]");
        var (h, w) = IsSam2 ? (a.ImgSize, a.ImgSize) : ResizeLongestSide.TargetSize(originalHeight, originalWidth, a.ImgSize);
        Tensor tokens;
        using (var channels = Be.FromHost(imageEmbeddings, 1, d, g * g))
            tokens = Be.Transpose(channels);
        if (!IsSam2)
        {
            Replace(new ImageEmbedding(tokens, imageEmbeddings, originalHeight, originalWidth, h, w) { EncoderPrecision = encoderPrecision });
            return;
        }
        Tensor? s0 = null;
        try
        {
            s0 = NchwToNhwc(highResFeats0!, d / 8, 4 * g);
            var s1 = NchwToNhwc(highResFeats1!, d / 4, 2 * g);
            Replace(new ImageEmbedding(tokens, imageEmbeddings, originalHeight, originalWidth, h, w)
            {
                EncoderPrecision = encoderPrecision,
                HighResFeats0 = highResFeats0, HighResFeats1 = highResFeats1, FeatS0 = s0, FeatS1 = s1,
            });
        }
        catch
        {
            tokens.Dispose();
            s0?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// SAM 2.1's embedding from the FPN levels [1, 4g, 4g, D], [1, 2g, 2g, D], [1, g, g, D] (left to the
    /// caller), as <c>forward_image</c> and <c>set_image</c> make it: conv_s0 / conv_s1 on the two finer
    /// levels, <c>no_mem_embed</c> added to the coarsest.
    /// </summary>
    private ImageEmbedding Sam2Embedding(Tensor level0, Tensor level1, Tensor level2, int height, int width)
    {
        var a = _model.Architecture;
        int d = a.PromptEmbedDim, g = a.GridSize, s = a.ImgSize;
        var (s0, s1) = _model.MaskDecoder.HighResFeatures(Be, level0, level1);
        Tensor? tokens = null;
        try
        {
            using (var noMem = Be.FromParameter(_model.NoMemEmbed!))
            using (var noMemRow = Be.Reshape(noMem, d))
            using (var coarse = Be.Reshape(level2, 1, g * g, d))
                tokens = Be.Add(coarse, noMemRow);
            return new ImageEmbedding(tokens, NhwcToNchw(Be.ToHost(tokens), g * g, d), height, width, s, s)
            {
                EncoderPrecision = Be.Precision,
                HighResFeats0 = NhwcToNchw(Be.ToHost(s0), 16 * g * g, d / 8),
                HighResFeats1 = NhwcToNchw(Be.ToHost(s1), 4 * g * g, d / 4),
                FeatS0 = s0,
                FeatS1 = s1,
            };
        }
        catch
        {
            s0.Dispose();
            s1.Dispose();
            tokens?.Dispose();
            throw;
        }
    }

    /// <summary>A host [1, C, side, side] as a backend [1, side, side, C].</summary>
    private Tensor NchwToNhwc(float[] x, int c, int side)
    {
        using var channels = Be.FromHost(x, 1, c, side * side);
        using var rows = Be.Transpose(channels);
        return Be.Reshape(rows, 1, side, side, c); // the view keeps the data
    }

    /// <summary>[pixels, C] → [C, pixels], on the host.</summary>
    internal static float[] NhwcToNchw(float[] x, int pixels, int c)
    {
        var y = new float[x.Length];
        for (int p = 0; p < pixels; p++)
            for (int ch = 0; ch < c; ch++) y[ch * pixels + p] = x[p * c + ch];
        return y;
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
        int b = prompts.Count, m = _model.MaskDecoder.MaskCount(multimask), lr = _model.Architecture.LowResSize;
        // Every plane is written (no IoU gate), so recycled arrays need no clearing.
        var lowResHost = _recycledFloats.Take(checked(b * m * lr * lr));
        var iou = new float[b * m];
        var objectScores = IsSam2 ? new float[b] : null;
        Decode(prompts, multimask, lowResHost, iou, iouGate: null, objectScores);
        var emb = Embedding!;
        var source = CleanedLowRes(lowResHost, b * m) ?? lowResHost;
        // The masks are thresholded as they are upsampled; the full-size logits only when asked for.
        var masks = _recycledBytes.Take(Postprocess.OutputLength(b * m, emb.OriginalHeight, emb.OriginalWidth));
        Resize(source, b * m, default, masks);
        // SAM 2.1's predictor hands back its low-res logits clamped (after the masks were made from them).
        float[] returned = lowResHost;
        if (IsSam2)
        {
            returned = _recycledFloats.Take(lowResHost.Length);
            ClampLowRes(lowResHost, returned);
        }
        var (recycledFloats, recycledBytes) = (_recycledFloats, _recycledBytes);
        return new SamPrediction(b, m, emb.OriginalHeight, emb.OriginalWidth, lr, masks, iou, returned, () =>
        {
            var logits = GC.AllocateUninitializedArray<float>(Postprocess.OutputLength(b * m, emb.OriginalHeight, emb.OriginalWidth));
            Resize(source, b * m, logits, default);
            return logits;
        }, objectScores, release: () =>
        {
            recycledBytes.Give(masks);
            recycledFloats.Give(returned);
            if (returned != lowResHost) recycledFloats.Give(lowResHost);
        });
    }

    /// <summary>
    /// Low-res logits [planes, S/4, S/4] of the current image upsampled to its original size as this family's
    /// <c>postprocess_masks</c> does (with SAM 2.1's hole / sprinkle clean-up first when this predictor makes
    /// one), into <paramref name="logits"/> and/or thresholded <paramref name="masks"/>.
    /// </summary>
    internal void UpsampleLowRes(ReadOnlySpan<float> lowRes, int planes, Span<float> logits, Span<byte> masks) =>
        Resize(CleanedLowRes(lowRes, planes) ?? lowRes, planes, logits, masks);

    /// <summary>SAM 2.1's <c>postprocess_masks</c> clean-up as a new array, or null when this predictor makes none.</summary>
    private float[]? CleanedLowRes(ReadOnlySpan<float> lowRes, int planes) => _maxHoleArea > 0 || _maxSprinkleArea > 0
        ? Sam2Transforms.RemoveHolesAndSprinkles(lowRes, planes, _model.Architecture.LowResSize, _maxHoleArea, _maxSprinkleArea)
        : null;

    /// <summary>
    /// The bilinear upsampling of <c>postprocess_masks</c>: SAM 1 upsamples to img_size, crops the resized
    /// image and upsamples that; SAM 2.1 makes one resize to the image, the same call with a first step
    /// that keeps the low-res size (which it skips).
    /// </summary>
    private void Resize(ReadOnlySpan<float> lowRes, int planes, Span<float> logits, Span<byte> masks)
    {
        var (arch, emb) = (_model.Architecture, Embedding!);
        int lr = arch.LowResSize;
        var (size, inputH, inputW) = IsSam2 ? (lr, lr, lr) : (arch.ImgSize, emb.InputHeight, emb.InputWidth);
        Postprocess.PostprocessMasks(lowRes, planes, lr, size, inputH, inputW, emb.OriginalHeight, emb.OriginalWidth, logits, masks);
    }

    /// <summary>SAM 2.1's clamp of the low-res logits it hands back (and feeds to m2m), to ±32.</summary>
    internal static void ClampLowRes(ReadOnlySpan<float> lowRes, Span<float> clamped)
    {
        for (int i = 0; i < lowRes.Length; i++) clamped[i] = Math.Clamp(lowRes[i], -32f, 32f);
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
        Decode(prompts, multimask, lowRes, iou, iouGate, objectScores: null);
    }

    /// <summary>The low-res logits and IoU predictions of every prompt, in new arrays.</summary>
    private (int Batch, int MaskCount, float[] LowResLogits, float[] IouPredictions) DecodeLowRes(IReadOnlyList<SamPrompt> prompts, bool multimask)
    {
        int b = prompts.Count, m = _model.MaskDecoder.MaskCount(multimask), lr = _model.Architecture.LowResSize;
        var lowRes = new float[checked(b * m * lr * lr)];
        var iou = new float[b * m];
        Decode(prompts, multimask, lowRes, iou, iouGate: null, objectScores: null);
        return (b, m, lowRes, iou);
    }

    /// <summary>The one decoding path: the prompts through the mask decoder, pass by pass into the host buffers.</summary>
    private void Decode(IReadOnlyList<SamPrompt> prompts, bool multimask, float[] lowRes, float[] iou, float? iouGate, float[]? objectScores)
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
                    if (objectScores is not null && pass.ObjectScores is { } scores) Be.ToHost(scores, objectScores.AsSpan(pass.Start, scores.Length));
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
