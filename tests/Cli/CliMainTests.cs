using SamEngine.Tests.Checkpoints;

namespace SamEngine.Tests.Cli;

/// <summary>
/// Usage mistakes in every verb: one line <c>samengine: error: ...</c> naming the problem on stderr,
/// nothing on stdout, exit 2, before any file is read or written.
/// </summary>
public sealed class CliMainTests
{
    private static readonly string Missing = Path.Combine(Path.GetTempPath(), $"samengine-never-{Guid.NewGuid():N}");
    private static readonly string[] Model = ["--model", Missing + ".safetensors"];
    private static readonly string[] SegmentBase = ["segment", .. Model, "--image", Missing + ".png", "--out", Missing];
    private static readonly string[] AmgBase = ["amg", .. Model, "--image", Missing + ".png", "--out", Missing + ".json"];

    public static TheoryData<string[], string> Mistakes => new()
    {
        // unknown verb or option, in every verb
        { ["frobnicate"], "unknown verb 'frobnicate'" },
        { ["--version"], "unknown verb '--version'" },
        { [.. SegmentBase, "--point", "1,1", "--colour", "red"], "segment: unknown argument '--colour'" },
        { ["embed", .. Model, "--image", Missing, "--out", Missing, "--bogus"], "embed: unknown argument '--bogus'" },
        { ["info", .. Model, "--bogus"], "info: unknown argument '--bogus'" },
        { ["convert", Missing, "--out", Missing, "--bogus"], "convert: unknown argument '--bogus'" },
        { ["convert", Missing, "second", "--out", Missing], "convert: unknown argument 'second'" },
        { ["parity", "--fixture", Missing, "--bogus"], "parity: unknown argument '--bogus'" },
        { ["bench", .. Model, "--bogus"], "bench: unknown argument '--bogus'" },
        { [.. AmgBase, "--points"], "amg: unknown argument '--points'" },
        // a flag takes no value
        { [.. SegmentBase, "--point", "1,1", "--multimask", "yes"], "segment: unknown argument 'yes'" },
        { ["bench", .. Model, "--json", "true"], "bench: unknown argument 'true'" },
        // a missing value or required option
        { ["segment", "--image", Missing, "--point", "1,1", "--out", Missing, "--model"], "segment: " },
        { [.. SegmentBase, "--point"], "--point" },
        { ["bench", .. Model, "--runs"], "--runs" },
        { ["embed", .. Model, "--out", Missing], "embed: option '--image' or '--images' is required" },
        { ["amg", .. Model, "--image", Missing], "amg: option '--out' is required" },
        { ["parity"], "parity: option '--fixture' is required" },
        { ["convert", "--out", Missing], "convert: give the input checkpoint" },
        { ["convert", Missing], "convert: option '--out' is required" },
        // a single-valued option given twice
        { [.. SegmentBase, "--point", "1,1", "--out", Missing + "2"], "'--out'" },
        // a bad number or value
        { ["bench", .. Model, "--runs", "0"], "bench: --runs needs a positive whole number, got '0'" },
        { ["bench", .. Model, "--runs", "1.5"], "bench: --runs needs a positive whole number, got '1.5'" },
        { [.. AmgBase, "--points-per-side", "x"], "amg: --points-per-side needs a whole number, got 'x'" },
        { [.. AmgBase, "--box-nms-thresh", "NaN"], "amg: --box-nms-thresh needs a finite number, got 'NaN'" },
        { [.. AmgBase, "--crop-overlap-ratio", "1,5"], "amg: --crop-overlap-ratio needs a finite number, got '1,5'" },
        { [.. AmgBase, "--output-mode", "png"], "amg: unknown --output-mode 'png'" },
        { [.. SegmentBase, "--point", "1,x"], "segment: --point '1,x' is not X,Y[,LABEL]" },
        { [.. SegmentBase, "--box", "1,2,3,inf"], "segment: --box '1,2,3,inf' is not X0,Y0,X1,Y1" },
        { ["convert", Missing, "--out", Missing, "--dtype", "int8"], "convert: --dtype 'int8' is not f16, bf16 or f32" },
        { ["parity", "--fixture", Missing, "--precision", "bf16"], "parity: unknown precision 'bf16'" },
        { [.. SegmentBase, "--point", "1,1", "--backend", "tpu"], "unknown backend 'tpu'" },
        // wrong combinations
        { ["segment", .. Model, "--image", Missing, "--embedding", Missing, "--point", "1,1", "--out", Missing], "segment: give exactly one of --image and --embedding" },
        { ["segment", .. Model, "--point", "1,1", "--out", Missing], "segment: give exactly one of --image and --embedding" },
        { [.. SegmentBase], "segment: give at least one --point or a --box" },
        { ["bench", .. Model, "--json", "--encoder-only"], "bench: --json reports the decoder too; drop --encoder-only" },
        { ["info", .. Model, "--backend", "cuda", "--precision", "int8"], "--precision int8 is not available on backend 'cuda': int8 is a cpu backend path" },
        { ["info", .. Model, "--backend", "cpu", "--precision", "fp16"], "--precision fp16 is not available: the cpu backend computes in fp32" },
        { ["convert", TestFiles.TinyPth, "--out", TestFiles.TinyPth], "convert: --out must differ from the input" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void A_usage_mistake_is_one_line_and_exit_2(string[] args, string named)
    {
        var (code, stdout, stderr) = CliRunner.Run(args);
        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("samengine: error: ", lines[0]);
        Assert.Contains(named, lines[0]);
        Assert.False(File.Exists(Missing) || Directory.Exists(Missing) || File.Exists(Missing + ".json"));
    }

    [Fact]
    public void Options_take_negative_numbers_and_repeat_in_order()
    {
        // A negative coordinate is a value, not an option: it reaches the library's own check.
        var (code, _, stderr) = CliRunner.Run(["segment", "--model", TestFiles.TinyModel, "--arch", TestFiles.TinyArch, "--image", TestFiles.TinyImage,
            "--point", "10,10", "--point", "-1,10", "--out", Missing]);
        Assert.Equal(1, code);
        Assert.Contains("outside", stderr);
    }
}
