using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace SamEngine.Imaging;

/// <summary>
/// Loads photos as the model sees them: JPEG, PNG, BMP, GIF (first frame), WebP or TIFF; the EXIF
/// orientation applied; grayscale, palette, 16-bit and alpha images turned into 8-bit RGB (alpha is
/// dropped, as PIL's <c>convert("RGB")</c> does). The size is read from the header first, so an
/// image over the pixel limit (a decompression bomb) is refused before anything is allocated, and a
/// JPEG or PNG cut short is refused as Pillow refuses it (see <see cref="TruncationCheck"/>).
/// </summary>
public static class ImageLoader
{
    /// <summary>The default pixel limit: 100 megapixels (e.g. 10000 x 10000).</summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>Decoders that stop after the first frame, so a many-frame GIF or TIFF cannot blow up memory.</summary>
    private static readonly Configuration FirstFrameOnly = CreateConfiguration();

    private static Configuration CreateConfiguration()
    {
        var c = Configuration.Default.Clone();
        c.ImageFormatsManager.SetDecoder(SixLabors.ImageSharp.Formats.Gif.GifFormat.Instance,
            new SixLabors.ImageSharp.Formats.Gif.GifDecoder { DecodingMode = SixLabors.ImageSharp.Metadata.FrameDecodingMode.First });
        c.ImageFormatsManager.SetDecoder(SixLabors.ImageSharp.Formats.Tiff.TiffFormat.Instance,
            new SixLabors.ImageSharp.Formats.Tiff.TiffDecoder { DecodingMode = SixLabors.ImageSharp.Metadata.FrameDecodingMode.First });
        return c;
    }

    /// <summary>Loads <paramref name="path"/> as RGB; throws <see cref="ImageLoadException"/> naming the problem.</summary>
    public static RgbImage Load(string path, long maxPixels = DefaultMaxPixels)
    {
        if (!File.Exists(path)) throw new ImageLoadException($"image '{path}' does not exist");
        try
        {
            using var stream = File.OpenRead(path);
            return Load(stream, path, maxPixels);
        }
        catch (UnauthorizedAccessException e) { throw new ImageLoadException($"image '{path}' cannot be read: {e.Message}", e); }
        catch (IOException e) when (e is not ImageLoadException) { throw new ImageLoadException($"image '{path}' cannot be read: {e.Message}", e); }
    }

    /// <summary>Loads an image from a seekable stream; <paramref name="name"/> is used in error messages.</summary>
    public static RgbImage Load(Stream stream, string name, long maxPixels = DefaultMaxPixels)
    {
        try
        {
            long start = stream.Position;
            var info = Image.Identify(FirstFrameOnly, stream, out var format);
            if (info is null || format is null)
                throw new ImageLoadException($"image '{name}' is not in a supported format (JPEG, PNG, BMP, GIF, WebP, TIFF)");
            long pixels = (long)info.Width * info.Height;
            if (info.Width <= 0 || info.Height <= 0) throw new ImageLoadException($"image '{name}' has no pixels ({info.Width} x {info.Height})");
            if (pixels > maxPixels)
                throw new ImageLoadException($"image '{name}' is {info.Width} x {info.Height} = {pixels} pixels, over the limit of {maxPixels}") { OverPixelLimit = true };
            stream.Position = start;
            string? truncated = format switch
            {
                SixLabors.ImageSharp.Formats.Jpeg.JpegFormat => TruncationCheck.Jpeg(stream),
                SixLabors.ImageSharp.Formats.Png.PngFormat => TruncationCheck.Png(stream),
                _ => null,
            };
            if (truncated is not null) throw new ImageLoadException($"image file '{name}' is truncated: {truncated}");
            stream.Position = start;
            using var image = Image.Load<Rgb24>(FirstFrameOnly, stream);
            image.Mutate(x => x.AutoOrient());
            var rgb = new byte[image.Width * image.Height * 3];
            image.Frames.RootFrame.CopyPixelDataTo(rgb);
            return new RgbImage(rgb, image.Height, image.Width);
        }
        catch (UnknownImageFormatException e) { throw new ImageLoadException($"image '{name}' is not in a supported format (JPEG, PNG, BMP, GIF, WebP, TIFF)", e); }
        catch (ImageFormatException e) { throw new ImageLoadException($"image '{name}' is corrupt or truncated: {OneLine(e.Message)}", e); }
        catch (NotSupportedException e) { throw new ImageLoadException($"image '{name}' uses an unsupported feature: {OneLine(e.Message)}", e); }
        catch (SixLabors.ImageSharp.Memory.InvalidMemoryOperationException e) { throw new ImageLoadException($"image '{name}' is too large to decode: {OneLine(e.Message)}", e); }
    }

    /// <summary>Wraps RGB bytes (HWC) in an ImageSharp image, e.g. to save or draw on it.</summary>
    public static Image<Rgb24> ToImage(RgbImage image) => Image.LoadPixelData<Rgb24>(image.Pixels, image.Width, image.Height);

    /// <summary>Copies an ImageSharp image's first frame (any pixel type) to RGB bytes.</summary>
    public static RgbImage FromImage(Image image)
    {
        using var rgb = image.CloneAs<Rgb24>();
        var bytes = new byte[rgb.Width * rgb.Height * 3];
        rgb.Frames.RootFrame.CopyPixelDataTo(bytes);
        return new RgbImage(bytes, rgb.Height, rgb.Width);
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
