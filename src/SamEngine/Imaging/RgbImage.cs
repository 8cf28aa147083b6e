namespace SamEngine.Imaging;

/// <summary>An 8-bit RGB image in row-major HWC order, as the model takes it.</summary>
/// <param name="Pixels">Height x Width x 3 bytes, R G B per pixel.</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
public sealed record RgbImage(byte[] Pixels, int Height, int Width)
{
    /// <summary>Number of pixels (Height x Width).</summary>
    public long PixelCount => (long)Height * Width;
}

/// <summary>Thrown when an image cannot be used: missing, unreadable, of an unsupported format, or too large.</summary>
public sealed class ImageLoadException : IOException
{
    /// <summary>Creates the exception with a one-line message naming the file and the problem.</summary>
    public ImageLoadException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>
    /// True when the image was refused for its size alone (over the pixel limit, read from the header
    /// before decoding): a caller may answer "too large" rather than "unreadable".
    /// </summary>
    public bool OverPixelLimit { get; init; }
}
