using SamEngine.Checkpoints;
using SamEngine.IO;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine convert</c>: an official or Hugging Face checkpoint to SamEngine's safetensors.</summary>
public static class ConvertCommand
{
    public const string Help = """
        usage: samengine convert IN --out OUT.safetensors [--dtype f16|bf16|f32] [--arch A]

        Reads IN, either an official PyTorch checkpoint (e.g. sam_vit_b_01ec64.pth; read by a strict
        state-dict reader that executes nothing) or a safetensors file in fp32, fp16 or bf16 with the
        official names or the Hugging Face transformers SamModel names (vision_encoder.*, ...), and
        writes OUT with the official names in one dtype and the architecture in the metadata key
        sam_architecture. The model is built over the result to check every tensor shape; on any
        problem nothing is written. IN may also be generated:<preset>[:<seed>], the seeded weights
        of generated-weights.md (e.g. a vit_h file for load benchmarks).

          --out FILE         the converted checkpoint
          --dtype T          f16 (default), bf16 or f32
          --arch A           a preset (vit_b, vit_l, vit_h) or a JSON file; default: inferred from the shapes
        """;

    public static int Run(IReadOnlyList<string> argv, TextWriter stdout, TextWriter stderr)
    {
        var positional = argv.Take(1).Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        if (positional.Count == 0) throw new UsageException("convert: give the input checkpoint first (samengine convert IN --out OUT)");
        var args = new CliArgs("convert", argv.Skip(1).ToList(), ["--out", "--dtype", "--arch"], []);
        string input = positional[0];
        string output = args.Required("convert", "--out");
        var dtype = (args.Value("--dtype") ?? "f16") switch
        {
            "f16" or "fp16" => SafeTensorDType.F16,
            "bf16" => SafeTensorDType.BF16,
            "f32" or "fp32" => SafeTensorDType.F32,
            var d => throw new UsageException($"convert: --dtype '{d}' is not f16, bf16 or f32"),
        };
        if (Path.GetFullPath(input) == Path.GetFullPath(output)) throw new UsageException("convert: --out must differ from the input");
        var arch = ModelOptions.Architecture(args, "convert");
        ConversionResult result;
        if (input.StartsWith("generated:", StringComparison.Ordinal))
        {
            using var model = SamEngine.Modeling.SamModel.Load(input, arch);
            result = CheckpointConverter.Write(model, output, dtype);
        }
        else result = TerminalProgress.Show(stderr, "converting: tensor", progress => CheckpointConverter.Convert(input, output, dtype, arch, progress));
        stdout.WriteLine($"convert: {result.TensorCount} tensors, {result.ParameterCount:N0} parameters{(result.HuggingFaceNames ? " (Hugging Face names mapped)" : "")} -> {output} ({dtype})");
        stdout.WriteLine($"architecture {result.Architecture.ToJson()}");
        return 0;
    }
}
