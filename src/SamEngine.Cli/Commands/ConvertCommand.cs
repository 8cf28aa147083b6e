using System.CommandLine;
using SamEngine.Checkpoints;
using SamEngine.IO;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine convert</c>: an official or Hugging Face checkpoint to SamEngine's safetensors.</summary>
public static class ConvertCommand
{
    /// <summary>The <c>convert</c> verb.</summary>
    public static Verb Create()
    {
        var verb = new Verb("convert", "an official .pth or safetensors checkpoint to safetensors (fp16 by default)",
            "samengine convert IN --out OUT.safetensors [--dtype f16|bf16|f32] [--arch A]", """
            Reads IN, either an official PyTorch checkpoint (e.g. sam_vit_b_01ec64.pth; read by a strict
            state-dict reader that executes nothing) or a safetensors file in fp32, fp16 or bf16 with the
            official names or the Hugging Face transformers SamModel names (vision_encoder.*, ...), and
            writes OUT with the official names in one dtype and the architecture in the metadata key
            sam_architecture. The model is built over the result to check every tensor shape; on any
            problem nothing is written. IN may also be generated:<preset>[:<seed>], the seeded weights
            of generated-weights.md (e.g. a vit_h file for load benchmarks).
            """);
        var input = new Argument<string?>("IN")
        {
            Description = "the checkpoint to read (.pth, .safetensors or generated:<preset>[:<seed>])", Arity = ArgumentArity.ZeroOrOne,
        };
        var output = CliOptions.Required("--out", "FILE", "the converted checkpoint");
        var dtype = CliOptions.Parsed("--dtype", "T", "f16, bf16 or f32", SafeTensorDType.F16, ParseDType);
        var arch = ModelOptions.ArchOption($"a preset ({ModelOptions.Presets}) or a JSON file; default: inferred from the shapes");
        verb.Add(input);
        verb.Add(output);
        verb.Add(dtype);
        verb.Add(arch);
        verb.SetAction(parsed => Run(parsed.GetValue(input), parsed.GetRequiredValue(output), parsed.GetValue(dtype),
            parsed.GetValue(arch), parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));
        return verb;
    }

    private static SafeTensorDType ParseDType(string text) => text switch
    {
        "f16" or "fp16" => SafeTensorDType.F16,
        "bf16" => SafeTensorDType.BF16,
        "f32" or "fp32" => SafeTensorDType.F32,
        _ => throw new FormatException($"--dtype '{text}' is not f16, bf16 or f32"),
    };

    private static int Run(string? input, string output, SafeTensorDType dtype, string? archArg, TextWriter stdout, TextWriter stderr)
    {
        if (input is null) throw new UsageException("convert: give the input checkpoint (samengine convert IN --out OUT)");
        if (Path.GetFullPath(input) == Path.GetFullPath(output)) throw new UsageException("convert: --out must differ from the input");
        var arch = ModelOptions.Architecture(archArg, "convert");
        ConversionResult result;
        if (input.StartsWith("generated:", StringComparison.Ordinal))
        {
            using var model = SamEngine.Modeling.SamModel.Load(input, arch);
            result = CheckpointConverter.Write(model, output, dtype);
        }
        else result = TerminalProgress.Show(stderr, "converting: tensor", progress => CheckpointConverter.Convert(input, output, dtype, arch, progress));
        stdout.WriteLine($"convert: {result.TensorCount} tensors, {result.ParameterCount:N0} parameters{(result.HuggingFaceNames ? " (Hugging Face names mapped)" : "")} -> {output} ({dtype})");
        stdout.WriteLine($"architecture {result.Architecture.ToJson()}");
        if (Sam2VideoTensors.Notice(result.IgnoredVideoTensors ?? []) is { } notice) stdout.WriteLine(notice);
        if (MobileSamUnusedTensors.Notice(result.IgnoredUnusedTensors ?? []) is { } unused) stdout.WriteLine(unused);
        return 0;
    }
}
