using System.Buffers.Binary;
using SamEngine.Imaging;
using SamEngine.IO;
using SamEngine.Tests.Checkpoints;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Tests.Imaging;

public class ImageLoaderTests
{
    private static string Save(Image image, string name, SixLabors.ImageSharp.Formats.IImageEncoder? encoder = null)
    {
        string path = Path.Combine(TestFiles.TempDir(), name);
        if (encoder is null) image.Save(path); else image.Save(path, encoder);
        return path;
    }

    [Fact]
    public void PngMatchesTheFixtureImageTensor()
    {
        var img = ImageLoader.Load(TestFiles.TinyImage);
        using var reference = SafeTensorsFile.Open(Path.Combine(TestFiles.Tiny, "reference.safetensors"));
        Assert.Equal(new[] { img.Height, img.Width, 3 }, reference.Info("image").Shape);
        Assert.Equal(reference.ReadUInt8("image"), img.Pixels);
    }

    [Theory]
    [InlineData("a.bmp")]
    [InlineData("a.png")]
    [InlineData("a.tiff")]
    [InlineData("a.webp")]
    [InlineData("a.gif")]
    public void LosslessFormatsRoundTrip(string name)
    {
        // Four colours, so the GIF palette is exact too.
        using var image = new Image<Rgb24>(7, 5);
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 7; x++)
                image[x, y] = ((x + y) % 4) switch { 0 => new Rgb24(255, 0, 0), 1 => new Rgb24(0, 128, 0), 2 => new Rgb24(0, 0, 255), _ => new Rgb24(250, 250, 250) };
        SixLabors.ImageSharp.Formats.IImageEncoder? encoder = name.EndsWith(".webp")
            ? new SixLabors.ImageSharp.Formats.Webp.WebpEncoder { FileFormat = SixLabors.ImageSharp.Formats.Webp.WebpFileFormatType.Lossless } : null;
        var loaded = ImageLoader.Load(Save(image, name, encoder));
        Assert.Equal((5, 7), (loaded.Height, loaded.Width));
        Assert.Equal(ImageLoader.FromImage(image).Pixels, loaded.Pixels);
    }

    [Fact]
    public void AnimatedGifGivesItsFirstFrame()
    {
        using var image = new Image<Rgb24>(4, 4, new Rgb24(255, 0, 0));
        using (var second = new Image<Rgb24>(4, 4, new Rgb24(0, 0, 255))) image.Frames.AddFrame(second.Frames.RootFrame);
        Assert.Equal(2, image.Frames.Count);
        var loaded = ImageLoader.Load(Save(image, "anim.gif"));
        Assert.Equal(new byte[] { 255, 0, 0 }, loaded.Pixels[..3]);
    }

    [Fact]
    public void JpegLoads()
    {
        using var image = new Image<Rgb24>(16, 16, new Rgb24(200, 100, 50));
        var loaded = ImageLoader.Load(Save(image, "a.jpg"));
        Assert.All(loaded.Pixels.Chunk(3), p => Assert.True(Math.Abs(p[0] - 200) <= 3 && Math.Abs(p[1] - 100) <= 3 && Math.Abs(p[2] - 50) <= 3));
    }

    [Fact]
    public void GrayscaleBecomesRgb()
    {
        using var image = new Image<L8>(3, 2, new L8(77));
        var loaded = ImageLoader.Load(Save(image, "g.png", new PngEncoder { ColorType = PngColorType.Grayscale }));
        Assert.All(loaded.Pixels, b => Assert.Equal(77, b));
    }

    [Fact]
    public void SixteenBitBecomesEightBit()
    {
        using var image = new Image<Rgb48>(3, 2, new Rgb48(65535, 0, 32896)); // 32896 = 128 * 257
        var loaded = ImageLoader.Load(Save(image, "d.png", new PngEncoder { BitDepth = PngBitDepth.Bit16, ColorType = PngColorType.Rgb }));
        Assert.Equal(new byte[] { 255, 0, 128 }, loaded.Pixels[..3]);
    }

    [Fact]
    public void AlphaIsDropped()
    {
        using var image = new Image<Rgba32>(2, 2, new Rgba32(10, 20, 30, 0));
        var loaded = ImageLoader.Load(Save(image, "t.png", new PngEncoder { ColorType = PngColorType.RgbWithAlpha }));
        Assert.Equal(new byte[] { 10, 20, 30 }, loaded.Pixels[..3]);
    }

    [Fact]
    public void PaletteBecomesRgb()
    {
        using var image = new Image<Rgb24>(4, 4, new Rgb24(0, 0, 255));
        image[1, 1] = new Rgb24(255, 255, 0);
        var loaded = ImageLoader.Load(Save(image, "p.png", new PngEncoder { ColorType = PngColorType.Palette }));
        Assert.Equal(new byte[] { 0, 0, 255 }, loaded.Pixels[..3]);
        Assert.Equal(new byte[] { 255, 255, 0 }, loaded.Pixels[(((1 * 4) + 1) * 3)..][..3]);
    }

    [Fact]
    public void ExifOrientationIsApplied()
    {
        // 3 wide x 2 high, red at the top-left; orientation 6 = "rotate 90 clockwise to display".
        using var image = new Image<Rgb24>(3, 2, new Rgb24(0, 0, 0));
        image[0, 0] = new Rgb24(255, 0, 0);
        image.Metadata.ExifProfile = new ExifProfile();
        image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6);
        string path = Save(image, "o.png");
        Assert.Equal((ushort)6, Image.Identify(path).Metadata.ExifProfile?.GetValue(ExifTag.Orientation)?.Value);
        var loaded = ImageLoader.Load(path);
        Assert.Equal((3, 2), (loaded.Height, loaded.Width));
        // After a clockwise turn the old top-left corner is at the top-right.
        Assert.Equal(new byte[] { 255, 0, 0 }, loaded.Pixels[(((0 * 2) + 1) * 3)..][..3]);
    }

    [Fact]
    public void ImageOverThePixelLimitIsRefusedBeforeDecoding()
    {
        string path = Path.Combine(TestFiles.TempDir(), "bomb.png");
        File.WriteAllBytes(path, HugePngHeader(50_000, 50_000));
        var e = Assert.Throws<ImageLoadException>(() => ImageLoader.Load(path));
        Assert.Contains("over the limit", e.Message);
        using var small = new Image<Rgb24>(20, 20);
        var e2 = Assert.Throws<ImageLoadException>(() => ImageLoader.Load(Save(small, "s.png"), maxPixels: 399));
        Assert.Contains("400 pixels", e2.Message);
    }

    [Fact]
    public void UnsupportedMissingAndCorruptFilesAreNamed()
    {
        string dir = TestFiles.TempDir();
        string text = Path.Combine(dir, "notes.txt");
        File.WriteAllText(text, "not an image at all");
        Assert.Contains("not in a supported format", Assert.Throws<ImageLoadException>(() => ImageLoader.Load(text)).Message);
        Assert.Contains("does not exist", Assert.Throws<ImageLoadException>(() => ImageLoader.Load(Path.Combine(dir, "none.png"))).Message);
        string cut = Path.Combine(dir, "cut.png");
        var png = File.ReadAllBytes(TestFiles.TinyImage);
        File.WriteAllBytes(cut, png[..(png.Length / 2)]);
        Assert.Throws<ImageLoadException>(() => ImageLoader.Load(cut));
    }

    /// <summary>An intact JPEG with texture (so its scan is long), 64 x 48.</summary>
    private static byte[] TexturedJpeg()
    {
        using var image = new Image<Rgb24>(64, 48);
        var rng = new Random(3);
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 64; x++)
                image[x, y] = new Rgb24((byte)(x * 4), (byte)(y * 5), (byte)rng.Next(256));
        var ms = new MemoryStream();
        image.SaveAsJpeg(ms);
        return ms.ToArray();
    }

    private static string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(TestFiles.TempDir(), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(-2)] // only the end-of-image marker missing
    [InlineData(-1)]
    public void TruncatedJpegIsRefused(double keep)
    {
        var jpeg = TexturedJpeg();
        int length = keep < 0 ? jpeg.Length + (int)keep : (int)(jpeg.Length * keep);
        string path = Write("cut.jpg", jpeg[..length]);
        var e = Assert.Throws<ImageLoadException>(() => ImageLoader.Load(path));
        Assert.Contains("image file '" + path + "' is truncated", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void JpegWithBytesAfterItsEndLoadsAsTheIntactOne()
    {
        // Pillow ignores what follows the end-of-image marker (camera trailers, appended data).
        var jpeg = TexturedJpeg();
        Assert.Equal(new byte[] { 0xFF, 0xD9 }, jpeg[^2..]);
        var intact = ImageLoader.Load(Write("a.jpg", jpeg));
        var trailed = ImageLoader.Load(Write("b.jpg", [.. jpeg, .. "trailing bytes\xFF\xD8\xFF"u8.ToArray(), 0, 0xFF]));
        Assert.Equal(intact.Pixels, trailed.Pixels);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(-12)] // the whole IEND chunk missing
    [InlineData(-1)]  // IEND's CRC cut
    public void TruncatedPngIsRefused(double keep)
    {
        var png = File.ReadAllBytes(TestFiles.TinyImage);
        int length = keep < 0 ? png.Length + (int)keep : Math.Max(5, (int)(png.Length * keep));
        string path = Write("cut.png", png[..length]);
        var e = Assert.Throws<ImageLoadException>(() => ImageLoader.Load(path));
        Assert.Contains("is truncated", e.Message);
    }

    [Fact]
    public void PngWithBytesAfterIendLoadsAsTheIntactOne()
    {
        var png = File.ReadAllBytes(TestFiles.TinyImage);
        Assert.Equal(ImageLoader.Load(TestFiles.TinyImage).Pixels, ImageLoader.Load(Write("t.png", [.. png, 1, 2, 3])).Pixels);
    }

    [Fact]
    public void EverySampleImageLoads()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "SamEngine.sln"))) root = root.Parent!;
        var samples = Directory.GetFiles(Path.Combine(root.FullName, "samples"));
        Assert.NotEmpty(samples);
        Assert.All(samples, path => Assert.True(ImageLoader.Load(path).PixelCount > 0));
    }

    /// <summary>A PNG signature and an IHDR claiming a huge size, an empty IDAT and IEND: a cheap "bomb".</summary>
    internal static byte[] HugePngHeader(int width, int height)
    {
        var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
        Chunk(ms, "IHDR", ihdr);
        Chunk(ms, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(n, data.Length);
        s.Write(n);
        var body = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(body);
        BinaryPrimitives.WriteUInt32BigEndian(n, Crc32Png(body));
        s.Write(n);
    }

    private static uint Crc32Png(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
