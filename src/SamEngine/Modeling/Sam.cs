using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Checkpoints;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// A loaded SAM model: the three parts, their architecture, and the backend they run on. SAM 1
/// (<c>image_encoder</c>: a ViT, <c>prompt_encoder</c>, <c>mask_decoder</c>) and SAM 2.1's image path
/// (<c>image_encoder</c>: Hiera + FPN, <c>sam_prompt_encoder</c>, <c>sam_mask_decoder</c>, <c>no_mem_embed</c>)
/// alike: <see cref="SamArchitecture.Family"/> picks the parts. Create one with <see cref="Load"/>, then
/// use a <see cref="SamPredictor"/> to segment images.
/// </summary>
public sealed class SamModel : IDisposable
{
    private SamModel(SamArchitecture arch, IBackend backend, IWeightSource weights, string description)
    {
        Architecture = arch;
        _backend = backend;
        CheckFamily(arch, weights);
        var hashed = new FingerprintingWeightSource(weights);
        var vb = new WeightScope(hashed);
        if (arch.Family == ModelFamily.Sam2)
        {
            _hieraEncoder = new ImageEncoderHiera(vb.Push("image_encoder"), arch);
            _promptEncoder = new PromptEncoder(vb.Push("sam_prompt_encoder"), arch);
            _maskDecoder = new MaskDecoder(vb.Push("sam_mask_decoder"), arch);
            NoMemEmbed = vb.Get("no_mem_embed", 1, 1, arch.PromptEmbedDim);
        }
        else
        {
            if (arch.TinyVit is not null) _tinyVitEncoder = new ImageEncoderTinyVit(vb.Push("image_encoder"), arch);
            else _imageEncoder = new ImageEncoderViT(vb.Push("image_encoder"), arch);
            _promptEncoder = new PromptEncoder(vb.Push("prompt_encoder"), arch);
            _maskDecoder = new MaskDecoder(vb.Push("mask_decoder"), arch);
        }
        vb.Finish();
        Description = description;
        _parameters = hashed.Served;
        ParameterCount = hashed.ParameterCount;
        _fingerprint = new Lazy<string>(() => FingerprintingWeightSource.Fingerprint(Parameters));
    }

    private readonly IBackend _backend;
    private readonly ImageEncoderViT? _imageEncoder;
    private readonly ImageEncoderHiera? _hieraEncoder;
    private readonly ImageEncoderTinyVit? _tinyVitEncoder;
    private readonly PromptEncoder _promptEncoder;
    private readonly MaskDecoder _maskDecoder;
    private readonly IReadOnlyList<Parameter> _parameters;
    // What Dispose releases: the backend when the model made it (or was told to dispose it), and
    // the weight file Load opened, whose mapping the parameters read from.
    private IDisposable? _ownedBackend, _ownedWeights;
    private bool _disposed;

    private readonly Lazy<string> _fingerprint;

    /// <summary>The architecture, checked against every weight shape.</summary>
    public SamArchitecture Architecture { get; }

    /// <summary>The backend the model runs on.</summary>
    public IBackend Backend => Live(_backend);

    /// <summary>SAM 1's ViT image encoder.</summary>
    public ImageEncoderViT ImageEncoder => Live(_imageEncoder) ?? throw new InvalidOperationException(
        Architecture.TinyVit is null ? $"a {Architecture.Family} model has no ViT encoder" : "a MobileSAM model has a TinyViT encoder, not a ViT");

    /// <summary>MobileSAM's TinyViT image encoder.</summary>
    public ImageEncoderTinyVit TinyVitEncoder => Live(_tinyVitEncoder) ?? throw new InvalidOperationException("this model has no TinyViT encoder");

    /// <summary>SAM 2.1's Hiera image encoder (trunk and FPN neck).</summary>
    public ImageEncoderHiera HieraEncoder => Live(_hieraEncoder) ?? throw new InvalidOperationException($"a {Architecture.Family} model has no Hiera encoder");

    /// <summary>SAM 2.1's <c>no_mem_embed</c> [1, 1, D], added to the lowest-resolution features of an image; null for SAM 1.</summary>
    internal Parameter? NoMemEmbed { get; }

    /// <summary>The prompt encoder.</summary>
    public PromptEncoder PromptEncoder => Live(_promptEncoder);

    /// <summary>The mask decoder.</summary>
    public MaskDecoder MaskDecoder => Live(_maskDecoder);

    /// <summary>Where the weights came from (a path, <c>demo</c> or <c>generated:preset:seed</c>).</summary>
    public string Description { get; }

    /// <summary>
    /// SHA-256 (hex) over every weight's name, shape and fp16 value: tells models apart. Computed on
    /// first use (saving or loading an embedding), so that loading stays fast.
    /// </summary>
    public string Fingerprint => Live(_fingerprint).Value;

    /// <summary>Every weight of the model, in the order the modules asked for them.</summary>
    public IReadOnlyList<Parameter> Parameters => Live(_parameters);

    /// <summary>Number of weight values.</summary>
    public long ParameterCount { get; }

    /// <summary>
    /// Builds a model over any weight source; every tensor the architecture needs must be there with
    /// its exact shape, and nothing else (a <see cref="WeightException"/> names each problem). The
    /// weights stay the caller's: they must stay readable (a file source open) while the model is used.
    /// Without a <paramref name="backend"/> the model runs on a <see cref="CpuBackend"/> of its own;
    /// a backend passed in stays the caller's, and is disposed with the model only when
    /// <paramref name="disposeBackend"/> is true.
    /// </summary>
    public static SamModel Create(SamArchitecture arch, IWeightSource weights, IBackend? backend = null, string description = "", bool disposeBackend = false) =>
        Build(arch, weights, ownedWeights: null, backend, disposeBackend, description);

    /// <summary>
    /// Loads a model from <paramref name="model"/>: a <c>.safetensors</c> path with the official names
    /// (served in place from the file's mapping), an official PyTorch checkpoint (<c>.pth</c>, read by
    /// the strict state-dict reader and rounded to fp16 in memory exactly as <c>samengine convert</c>
    /// would write it), <c>demo</c> for the small model shipped with SamEngine
    /// (<see cref="ModelSource.DemoPath"/>), or <c>generated:&lt;preset&gt;[:&lt;seed&gt;]</c> for the
    /// seeded weights of <c>generated-weights.md</c>. The architecture is <paramref name="arch"/> when given, else the
    /// file's <c>sam_architecture</c> metadata, else inferred from the tensor shapes. The backend is
    /// owned as in <see cref="Create"/>; a safetensors file stays mapped until the model is disposed.
    /// A file that cannot be used throws a <see cref="CheckpointException"/>,
    /// <see cref="SafeTensorsException"/> or <see cref="WeightException"/> whose message names it.
    /// </summary>
    public static SamModel Load(string model, SamArchitecture? arch = null, IBackend? backend = null, bool disposeBackend = false)
    {
        if (ModelSource.IsGenerated(model))
        {
            var parts = model.Split(':');
            if (parts.Length is < 2 or > 3 || (parts.Length == 3 && !ulong.TryParse(parts[2], out _)))
                throw new ArgumentException($"model '{model}': expected generated:<preset>[:<seed>]");
            var preset = SamArchitecture.FromPreset(parts[1]);
            ulong seed = parts.Length == 3 ? ulong.Parse(parts[2]) : 0;
            return Create(arch ?? preset, new GeneratedWeightSource(seed), backend, $"generated:{parts[1]}:{seed}", disposeBackend);
        }
        string path = ModelSource.FilePath(model)!;
        if (!File.Exists(path))
            throw new FileNotFoundException(model == ModelSource.Demo
                ? $"the demo model '{path}' is missing (the build copies it there from weights/demo/)"
                : $"model file '{path}' does not exist");
        try
        {
            if (CheckpointReader.FormatOf(path) == CheckpointFormat.PyTorch)
            {
                // Converted into memory as the model asks for each tensor: the reader is done with afterwards.
                using var reader = new TorchZipReader(path);
                var pth = new CheckpointWeightSource(reader);
                return Build(arch ?? InferredArchitecture(path, pth.Shapes), pth, ownedWeights: null, backend, disposeBackend, model);
            }
            // The parameters are served from the file's mapping: the model owns the file from here on.
            var source = new SafeTensorsWeightSource(SafeTensorsFile.Open(path));
            try
            {
                arch ??= SafeTensorsReader.StoredArchitecture(source.File)
                    ?? InferredArchitecture(path, source.File.Tensors.ToDictionary(t => t.Key, t => t.Value.Shape));
            }
            catch
            {
                source.Dispose();
                throw;
            }
            return Build(arch, source, ownedWeights: source, backend, disposeBackend, model);
        }
        catch (WeightException e) when (!e.Message.StartsWith($"'{path}'", StringComparison.Ordinal))
        {
            throw new WeightException($"'{path}': {e.Message}");
        }
    }

    /// <summary>
    /// Refuses, in one line, weights of the other family: SAM 1's parts are <c>prompt_encoder</c> /
    /// <c>mask_decoder</c>, SAM 2.1's <c>sam_prompt_encoder</c> / <c>sam_mask_decoder</c>.
    /// </summary>
    private static void CheckFamily(SamArchitecture arch, IWeightSource weights)
    {
        bool sam1 = false, sam2 = false;
        foreach (var n in weights.Names)
        {
            sam1 |= n.StartsWith("mask_decoder.", StringComparison.Ordinal);
            sam2 |= n.StartsWith("sam_mask_decoder.", StringComparison.Ordinal);
        }
        if (arch.Family == ModelFamily.Sam2 && sam1 && !sam2)
            throw new WeightException("these are SAM 1 weights (mask_decoder.*), but the architecture is SAM 2.1's (family sam2)");
        if (arch.Family == ModelFamily.Sam && sam2 && !sam1)
            throw new WeightException("these are SAM 2.1 weights (sam_mask_decoder.*), but the architecture is SAM 1's; pass a sam2.1 architecture");
    }

    /// <summary>
    /// The model over <paramref name="weights"/>, owning <paramref name="ownedWeights"/> and the backend
    /// as <see cref="Create"/> says; what it owns is disposed here too when building fails.
    /// </summary>
    private static SamModel Build(SamArchitecture arch, IWeightSource weights, IDisposable? ownedWeights, IBackend? backend, bool disposeBackend, string description)
    {
        IBackend? created = null;
        try
        {
            arch = arch.Validate();
            if (backend is null) backend = created = new CpuBackend();
            return new SamModel(arch, backend, weights, description)
            {
                _ownedBackend = created is not null || disposeBackend ? backend : null,
                _ownedWeights = ownedWeights,
            };
        }
        catch
        {
            ownedWeights?.Dispose();
            if (created is not null || disposeBackend) backend?.Dispose();
            throw;
        }
    }

    /// <summary>The preset these tensor shapes belong to; throws asking for --arch when they fit none.</summary>
    private static SamArchitecture InferredArchitecture(string path, IReadOnlyDictionary<string, int[]> shapes) =>
        ArchitectureInference.FromShapes(shapes)
            ?? throw new WeightException($"'{path}': cannot tell the architecture from the tensor shapes; pass --arch (a preset name or a JSON file)");

    /// <summary>
    /// Releases what the model owns: the weight file <see cref="Load"/> mapped (its parameters throw
    /// <see cref="ObjectDisposedException"/> from then on instead of reading unmapped memory) and the
    /// backend when the model created it or was told to dispose it. A second call does nothing; the
    /// model's parts and backend throw <see cref="ObjectDisposedException"/> afterwards. Not to be called
    /// while another thread still runs the model.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _ownedWeights?.Dispose();
        _ownedBackend?.Dispose();
    }

    /// <summary><paramref name="part"/>, unless the model is disposed.</summary>
    private T Live<T>(T part)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return part;
    }
}
