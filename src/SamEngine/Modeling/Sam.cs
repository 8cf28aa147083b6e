using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Checkpoints;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// A loaded SAM model: the three parts, their architecture, and the backend they run on.
/// Create one with <see cref="Load(string, SamArchitecture?, IBackend?)"/>, then use a
/// <see cref="SamPredictor"/> to segment images.
/// </summary>
public sealed class SamModel : IDisposable
{
    private SamModel(SamArchitecture arch, IBackend backend, IWeightSource weights, string description)
    {
        Architecture = arch;
        Backend = backend;
        var hashed = new FingerprintingWeightSource(weights);
        var vb = new WeightScope(hashed);
        ImageEncoder = new ImageEncoderViT(vb.Push("image_encoder"), arch);
        PromptEncoder = new PromptEncoder(vb.Push("prompt_encoder"), arch);
        MaskDecoder = new MaskDecoder(vb.Push("mask_decoder"), arch);
        vb.Finish();
        Description = description;
        Parameters = hashed.Served;
        ParameterCount = hashed.ParameterCount;
        _fingerprint = new Lazy<string>(() => FingerprintingWeightSource.Fingerprint(Parameters));
    }

    private readonly Lazy<string> _fingerprint;

    /// <summary>The architecture, checked against every weight shape.</summary>
    public SamArchitecture Architecture { get; }

    /// <summary>The backend the model runs on.</summary>
    public IBackend Backend { get; }

    /// <summary>The ViT image encoder.</summary>
    public ImageEncoderViT ImageEncoder { get; }

    /// <summary>The prompt encoder.</summary>
    public PromptEncoder PromptEncoder { get; }

    /// <summary>The mask decoder.</summary>
    public MaskDecoder MaskDecoder { get; }

    /// <summary>Where the weights came from (a path or <c>generated:preset:seed</c>).</summary>
    public string Description { get; }

    /// <summary>
    /// SHA-256 (hex) over every weight's name, shape and fp16 value: tells models apart. Computed on
    /// first use (saving or loading an embedding), so that loading stays fast.
    /// </summary>
    public string Fingerprint => _fingerprint.Value;

    /// <summary>Every weight of the model, in the order the modules asked for them.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Number of weight values.</summary>
    public long ParameterCount { get; }

    /// <summary>
    /// Builds a model over any weight source; every tensor the architecture needs must be there with
    /// its exact shape, and nothing else (a <see cref="WeightException"/> names each problem).
    /// </summary>
    public static SamModel Create(SamArchitecture arch, IWeightSource weights, IBackend? backend = null, string description = "") =>
        new(arch.Validate(), backend ?? new CpuBackend(), weights, description);

    /// <summary>
    /// Loads a model from <paramref name="model"/>: a <c>.safetensors</c> path with the official names
    /// (served in place from the file's mapping), an official PyTorch checkpoint (<c>.pth</c>, read by
    /// the strict state-dict reader and rounded to fp16 in memory exactly as <c>samengine convert</c>
    /// would write it), or <c>generated:&lt;preset&gt;[:&lt;seed&gt;]</c> for the seeded weights of
    /// <c>generated-weights.md</c>. The architecture is <paramref name="arch"/> when given, else the
    /// file's <c>sam_architecture</c> metadata, else inferred from the tensor shapes. A file that
    /// cannot be used throws a <see cref="CheckpointException"/>,
    /// <see cref="SafeTensorsException"/> or <see cref="WeightException"/> whose message names it.
    /// </summary>
    public static SamModel Load(string model, SamArchitecture? arch = null, IBackend? backend = null)
    {
        if (model.StartsWith("generated:", StringComparison.Ordinal))
        {
            var parts = model.Split(':');
            if (parts.Length is < 2 or > 3 || (parts.Length == 3 && !ulong.TryParse(parts[2], out _)))
                throw new ArgumentException($"model '{model}': expected generated:<preset>[:<seed>]");
            var preset = SamArchitecture.FromPreset(parts[1]);
            ulong seed = parts.Length == 3 ? ulong.Parse(parts[2]) : 0;
            return Create(arch ?? preset, new GeneratedWeightSource(seed), backend, $"generated:{parts[1]}:{seed}");
        }
        if (!File.Exists(model)) throw new FileNotFoundException($"model file '{model}' does not exist");
        try
        {
            if (CheckpointReader.FormatOf(model) == CheckpointFormat.PyTorch)
            {
                using var reader = new TorchZipReader(model);
                var pth = new CheckpointWeightSource(reader);
                return Create(arch ?? InferredArchitecture(model, pth.Shapes), pth, backend, model);
            }
            // Disposing the source closes the file; the parameters keep the mapping they were served from.
            using var source = new SafeTensorsWeightSource(SafeTensorsFile.Open(model));
            arch ??= SafeTensorsReader.StoredArchitecture(source.File) ?? InferredArchitecture(model, source.File.Tensors.ToDictionary(t => t.Key, t => t.Value.Shape));
            return Create(arch, source, backend, model);
        }
        catch (WeightException e) when (!e.Message.StartsWith($"'{model}'", StringComparison.Ordinal))
        {
            throw new WeightException($"'{model}': {e.Message}");
        }
    }

    /// <summary>The preset these tensor shapes belong to; throws asking for --arch when they fit none.</summary>
    private static SamArchitecture InferredArchitecture(string path, IReadOnlyDictionary<string, int[]> shapes) =>
        ArchitectureInference.FromShapes(shapes)
            ?? throw new WeightException($"'{path}': cannot tell the architecture from the tensor shapes; pass --arch (a preset name or a JSON file)");

    /// <inheritdoc />
    public void Dispose() => Backend.Dispose();
}
