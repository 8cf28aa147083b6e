using SamEngine.IO;
using SamEngine.Tests.Checkpoints;
using SamEngine.Tests.Imaging;

namespace SamEngine.Tests.Cli;

/// <summary>
/// Every bad input gets one line naming the problem, a non-zero exit, no stack trace and no output
/// file. Each case builds its inputs in a fresh folder and points --out into it.
/// </summary>
public class CliErrorTests
{
    private static readonly string[] Tiny = ["--model", TestFiles.TinyModel, "--arch", TestFiles.TinyArch];

    /// <summary>Runs the CLI and checks the failure contract; returns the message.</summary>
    internal static string Fails(string dir, string outPath, params string[] args)
    {
        var before = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToHashSet();
        var (code, stdout, stderr) = CliRunner.Run(args);
        Assert.NotEqual(0, code);
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.Contains("notice:")).ToList();
        Assert.Single(lines);
        Assert.StartsWith("samengine: error: ", lines[0]);
        Assert.DoesNotContain("   at ", stderr);
        var after = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToHashSet();
        Assert.Empty(after.Except(before));
        Assert.False(File.Exists(outPath) || (Directory.Exists(outPath) && Directory.EnumerateFileSystemEntries(outPath).Any()));
        return lines[0];
    }

    private static (string Dir, string Out) Scratch()
    {
        string dir = TestFiles.TempDir();
        return (dir, Path.Combine(dir, "out"));
    }

    private static string Segment(string dir, string outDir, params string[] extra) =>
        Fails(dir, outDir, ["segment", .. Tiny, .. extra, "--out", outDir]);

    [Fact]
    public void MissingImage()
    {
        var (dir, o) = Scratch();
        Assert.Contains("does not exist", Segment(dir, o, "--image", Path.Combine(dir, "nope.jpg"), "--point", "1,1"));
    }

    [Fact]
    public void UnreadableImage()
    {
        var (dir, o) = Scratch();
        string cut = Path.Combine(dir, "cut.png");
        var png = File.ReadAllBytes(TestFiles.TinyImage);
        File.WriteAllBytes(cut, png[..(png.Length / 3)]);
        Assert.Contains("cut.png", Segment(dir, o, "--image", cut, "--point", "1,1"));
    }

    [Fact]
    public void TruncatedJpeg()
    {
        // Decoded as it was, the missing rows came out grey and got masks.
        var (dir, o) = Scratch();
        using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(64, 48);
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 64; x++) image[x, y] = new((byte)(x * 4), (byte)(y * 5), (byte)(x * y));
        var jpeg = new MemoryStream();
        SixLabors.ImageSharp.ImageExtensions.SaveAsJpeg(image, jpeg);
        string cut = Path.Combine(dir, "cut.jpg");
        File.WriteAllBytes(cut, jpeg.ToArray()[..(int)(jpeg.Length * 2 / 3)]);
        var (code, _, _) = CliRunner.Run(["segment", .. Tiny, "--image", cut, "--point", "1,1", "--out", o]);
        Assert.Equal(1, code);
        Assert.Contains("cut.jpg' is truncated", Segment(dir, o, "--image", cut, "--point", "1,1"));
    }

    [Fact]
    public void UnsupportedFormat()
    {
        var (dir, o) = Scratch();
        string txt = Path.Combine(dir, "photo.jpg");
        File.WriteAllText(txt, "plain text, not a JPEG");
        Assert.Contains("not in a supported format", Segment(dir, o, "--image", txt, "--point", "1,1"));
    }

    [Fact]
    public void ImageOverThePixelLimit()
    {
        var (dir, o) = Scratch();
        string bomb = Path.Combine(dir, "bomb.png");
        File.WriteAllBytes(bomb, ImageLoaderTests.HugePngHeader(30_000, 30_000));
        Assert.Contains("over the limit", Segment(dir, o, "--image", bomb, "--point", "1,1"));
    }

    [Fact]
    public void TruncatedSafetensorsCheckpoint()
    {
        var (dir, o) = Scratch();
        string model = Path.Combine(dir, "cut.safetensors");
        var bytes = File.ReadAllBytes(TestFiles.TinyModel);
        File.WriteAllBytes(model, bytes[..(bytes.Length / 2)]);
        Assert.Contains("cut.safetensors", Fails(dir, o, "segment", "--model", model, "--arch", TestFiles.TinyArch, "--image", TestFiles.TinyImage, "--point", "1,1", "--out", o));
    }

    [Fact]
    public void TruncatedPthCheckpoint()
    {
        var (dir, o) = Scratch();
        string pth = Path.Combine(dir, "cut.pth");
        var bytes = File.ReadAllBytes(TestFiles.TinyPth);
        File.WriteAllBytes(pth, bytes[..(bytes.Length - 200)]);
        string outFile = Path.Combine(dir, "out.safetensors");
        Assert.Contains("corrupt or truncated", Fails(dir, outFile, "convert", pth, "--out", outFile, "--arch", TestFiles.TinyArch));
    }

    [Fact]
    public void PickleWithAnUnsupportedOpcode()
    {
        var (dir, _) = Scratch();
        string pth = TestFiles.TorchZip(dir, new PickleBuilder().Op(0x7D).Op(0x69).Op(0x2E).ToArray());
        string outFile = Path.Combine(dir, "out.safetensors");
        Assert.Contains("unsupported pickle opcode 0x69", Fails(dir, outFile, "convert", pth, "--out", outFile));
    }

    [Fact]
    public void PickleWithAnUnsupportedGlobal()
    {
        var (dir, _) = Scratch();
        string pth = TestFiles.TorchZip(dir, new PickleBuilder().Global("os", "system").Str("rm -rf /").Op(0x85).Op(0x52).Op(0x2E).ToArray());
        string outFile = Path.Combine(dir, "out.safetensors");
        Assert.Contains("'os.system'", Fails(dir, outFile, "convert", pth, "--out", outFile));
    }

    [Fact]
    public void CheckpointOfAnotherArchitecture()
    {
        var (dir, o) = Scratch();
        Assert.Contains("do not match the architecture", Fails(dir, o, "segment", "--model", TestFiles.TinyModel, "--arch", "vit_b",
            "--image", TestFiles.TinyImage, "--point", "1,1", "--out", o));
        string outFile = Path.Combine(dir, "x.safetensors");
        Assert.Contains("do not match the architecture", Fails(dir, outFile, "convert", TestFiles.TinyPth, "--out", outFile, "--arch", "vit_h"));
    }

    [Theory]
    [InlineData("--point", "300.5,10", "outside")]
    [InlineData("--point", "-1,10", "outside")]
    [InlineData("--box", "0,0,301,100", "outside")]
    [InlineData("--box", "100,10,50,60", "x1 < x0")]
    [InlineData("--point", "10,10,2", "label 2")]
    [InlineData("--point", "10,10,fg", "label 'fg'")]
    [InlineData("--point", "10", "X,Y")]
    [InlineData("--box", "1,2,3", "X0,Y0,X1,Y1")]
    public void BadPrompts(string option, string value, string named)
    {
        var (dir, o) = Scratch();
        Assert.Contains(named, Segment(dir, o, "--image", TestFiles.TinyImage, option, value));
    }

    [Fact]
    public void MaskInputOfTheWrongSize()
    {
        var (dir, o) = Scratch();
        string mask = Path.Combine(dir, "mask.safetensors");
        var w = new SafeTensorsWriter();
        w.AddFloat32("m", [1, 10, 10], new float[100]);
        w.Write(mask);
        Assert.Contains("64 x 64", Segment(dir, o, "--image", TestFiles.TinyImage, "--point", "1,1", "--mask-input", mask));
    }

    [Fact]
    public void EmbeddingMadeByAnotherModel()
    {
        var (dir, o) = Scratch();
        string emb = Path.Combine(dir, "e.safetensors");
        Assert.Equal(0, CliRunner.Run(["embed", .. Tiny, "--image", TestFiles.TinyImage, "--out", emb]).Code);
        // Same architecture, other weights (seed 1).
        Assert.Contains("another model", Fails(dir, o, "segment", "--model", "generated:vit_b:1", "--arch", TestFiles.TinyArch,
            "--embedding", emb, "--point", "1,1", "--out", o));
        // Another architecture altogether.
        string odd = Path.Combine(AppContext.BaseDirectory, "fixtures", "odd");
        Assert.Contains("another architecture", Fails(dir, o, "segment", "--model", Path.Combine(odd, "model.safetensors"),
            "--arch", Path.Combine(odd, "cases.json"), "--embedding", emb, "--point", "1,1", "--out", o));
    }

    [Theory]
    [InlineData("original_height", "100000000", "is over the limit of 100000000")]
    [InlineData("original_width", "-30", "'original_width' is not a positive integer")]
    [InlineData("original_height", "4294967316", "'original_height' is not a positive integer")] // 2^32 + 20
    public void EmbeddingClaimingAHostileSize(string key, string value, string named)
    {
        var (dir, o) = Scratch();
        string emb = Path.Combine(dir, "e.safetensors");
        Assert.Equal(0, CliRunner.Run(["embed", .. Tiny, "--image", TestFiles.TinyImage, "--out", emb]).Code);
        string hostile = SamEngine.Tests.Modeling.EmbeddingFileTests.WithMetadata(emb, Path.Combine(dir, "hostile.safetensors"), key, value);
        var (code, _, _) = CliRunner.Run(["segment", .. Tiny, "--embedding", hostile, "--point", "1,1", "--multimask", "--out", o]);
        Assert.Equal(1, code);
        string line = Fails(dir, o, ["segment", .. Tiny, "--embedding", hostile, "--point", "1,1", "--multimask", "--out", o]);
        Assert.Contains("hostile.safetensors", line);
        Assert.Contains(named, line);
    }

    [Theory]
    [InlineData("both")]
    [InlineData("neither")]
    [InlineData("no prompt")]
    [InlineData("unknown option")]
    [InlineData("no out")]
    public void ContradictoryOrMissingOptions(string what)
    {
        var (dir, o) = Scratch();
        string[] args = what switch
        {
            "both" => ["segment", .. Tiny, "--image", TestFiles.TinyImage, "--embedding", TestFiles.TinyModel, "--point", "1,1", "--out", o],
            "neither" => ["segment", .. Tiny, "--point", "1,1", "--out", o],
            "no prompt" => ["segment", .. Tiny, "--image", TestFiles.TinyImage, "--out", o],
            "unknown option" => ["segment", .. Tiny, "--image", TestFiles.TinyImage, "--point", "1,1", "--colour", "red", "--out", o],
            _ => ["segment", .. Tiny, "--image", TestFiles.TinyImage, "--point", "1,1"],
        };
        Fails(dir, o, args);
    }

    [Fact]
    public void EmbedAndInfoAndConvertFailCleanly()
    {
        var (dir, _) = Scratch();
        string emb = Path.Combine(dir, "e.safetensors");
        Assert.Contains("does not exist", Fails(dir, emb, ["embed", .. Tiny, "--image", Path.Combine(dir, "none.png"), "--out", emb]));
        Assert.Contains("does not exist", Fails(dir, emb, "info", "--model", Path.Combine(dir, "none.safetensors")));
        Assert.Contains("--dtype", Fails(dir, emb, "convert", TestFiles.TinyPth, "--out", emb, "--dtype", "int8"));
        Assert.Contains("does not exist", Fails(dir, emb, "convert", Path.Combine(dir, "none.pth"), "--out", emb));
    }
}
