using SamEngine.Cli;

namespace SamEngine.Tests.Cli;

/// <summary>The parity verb through the CLI entry point: exit codes, one-line errors, the --out file.</summary>
public sealed class ParityCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static void AssertOneLineError(string err, string expected)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("samengine: error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    [Fact]
    public void Tiny_passes_and_writes_out_file()
    {
        string outPath = Path.Combine(Path.GetTempPath(), $"parity-cli-{Guid.NewGuid():N}.safetensors");
        try
        {
            var (code, stdout, _) = Run("parity", "--fixture", TestFixtures.Local("tiny"), "--backend", "cpu", "--out", outPath);
            Assert.Equal(0, code);
            Assert.Contains("47 passed, 0 failed", stdout);
            Assert.Contains("image_embeddings", stdout);
            Assert.True(File.Exists(outPath));
        }
        finally { File.Delete(outPath); }
    }

    [Fact]
    public void Missing_fixture_folder_is_one_line_and_exit_2()
    {
        var (code, _, err) = Run("parity", "--fixture", "/no/such/fixture");
        Assert.Equal(2, code);
        AssertOneLineError(err, "'/no/such/fixture' does not exist");
    }

    [Fact]
    public void Fixture_without_reference_is_named()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        File.Copy(Path.Combine(TestFixtures.Local("tiny"), "cases.json"), Path.Combine(dir, "cases.json"));
        try
        {
            var (code, _, err) = Run("parity", "--fixture", dir);
            Assert.Equal(2, code);
            AssertOneLineError(err, "has no reference.safetensors");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Corrupt_reference_is_one_line_and_writes_no_out_file()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        File.Copy(Path.Combine(TestFixtures.Local("tiny"), "cases.json"), Path.Combine(dir, "cases.json"));
        var bytes = File.ReadAllBytes(Path.Combine(TestFixtures.Local("tiny"), "reference.safetensors"));
        File.WriteAllBytes(Path.Combine(dir, "reference.safetensors"), bytes[..(bytes.Length / 2)]); // truncated
        string outPath = Path.Combine(dir, "out.safetensors");
        try
        {
            var (code, _, err) = Run("parity", "--fixture", dir, "--out", outPath);
            Assert.Equal(1, code);
            AssertOneLineError(err, "reference.safetensors");
            Assert.False(File.Exists(outPath));
            Assert.Equal(2, Directory.GetFiles(dir).Length);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("--backend", "tpu", "unknown backend 'tpu'")]
    [InlineData("--precision", "bf16", "unknown precision 'bf16'")]
    [InlineData("--bogus", "x", "unknown argument '--bogus'")]
    public void Bad_options_are_usage_errors(string option, string value, string expected)
    {
        var (code, _, err) = Run("parity", "--fixture", TestFixtures.Local("tiny"), option, value);
        Assert.Equal(2, code);
        AssertOneLineError(err, expected);
    }

    [Fact]
    public void Fp16_on_the_cpu_backend_is_a_usage_error_saying_it_computes_in_fp32()
    {
        var (code, _, err) = Run("parity", "--fixture", TestFixtures.Local("tiny"), "--backend", "cpu", "--precision", "fp16");
        Assert.Equal(2, code);
        AssertOneLineError(err, "the cpu backend computes in fp32");
    }

    [Theory]
    [InlineData("ilgpu-cpu")] // refused before any device is opened
    [InlineData("cuda")]
    [InlineData("opencl")]
    public void Int8_on_a_gpu_backend_is_a_usage_error_naming_the_cpu_backend(string backend)
    {
        var (code, _, err) = Run("parity", "--fixture", TestFixtures.Local("tiny"), "--backend", backend, "--precision", "int8");
        Assert.Equal(2, code);
        AssertOneLineError(err, $"--precision int8 is not available on backend '{backend}': int8 is a cpu backend path (use --backend cpu)");
    }

    [Theory]
    [InlineData("sam2.1_tiny", "SAM 2.1's Hiera")]
    [InlineData("mobile_sam_tiny", "MobileSAM's TinyViT")]
    public void Int8_on_a_model_without_a_vit_encoder_is_a_usage_error(string fixture, string encoder)
    {
        var (code, _, err) = Run("parity", "--fixture", TestFixtures.Local(fixture), "--backend", "cpu", "--precision", "int8");
        Assert.Equal(2, code);
        AssertOneLineError(err, $"parity: --precision int8 covers SAM 1's ViT encoder only, not {encoder} (use fp32)");
    }

    [Fact]
    public void Int8_parity_is_held_to_the_fp16_column()
    {
        var (_, stdout, err) = Run("parity", "--fixture", TestFixtures.Local("tiny"), "--backend", "cpu", "--precision", "int8");
        Assert.Equal(SamEngine.Backends.Cpu.CpuBackend.Int8Accelerated ? "" : BackendFactory.PortableInt8Notice, err.Trim());
        var line = stdout.Split('\n').Single(l => l.StartsWith("point_multi.masks ", StringComparison.Ordinal));
        Assert.Contains(" 0.995 ", line);
        line = stdout.Split('\n').Single(l => l.StartsWith("point_multi.low_res_logits ", StringComparison.Ordinal));
        Assert.Contains(" 0.01 ", line);
        Assert.Contains(" ok", line);
    }

    [Fact]
    public void Unknown_verb_exits_2() => Assert.Equal(2, Run("frobnicate").Code);

    [Fact]
    public void Help_prints_usage_and_exits_0()
    {
        var (code, stdout, _) = Run("parity", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--fixture DIR", stdout);
    }
}
