namespace SamEngine.Processing;

/// <summary>
/// The official <c>Sam.preprocess</c>: per-channel <c>(x - pixel_mean) / pixel_std</c> on float32,
/// then zero padding at the bottom and right up to <c>img_size x img_size</c>.
/// </summary>
public static class Preprocess
{
    /// <summary>Official pixel mean, RGB, as the float32 buffer <c>Sam.pixel_mean</c> holds it.</summary>
    public static ReadOnlySpan<float> PixelMean => [123.675f, 116.28f, 103.53f];

    /// <summary>Official pixel std, RGB, as the float32 buffer <c>Sam.pixel_std</c> holds it.</summary>
    public static ReadOnlySpan<float> PixelStd => [58.395f, 57.12f, 57.375f];

    /// <summary>
    /// Normalises and pads a resized RGB image (HWC bytes, h x w) to the NCHW tensor
    /// [1, 3, imgSize, imgSize]. Padded positions are 0 because padding follows normalisation.
    /// </summary>
    public static float[] ToInputTensor(byte[] resizedHwc, int h, int w, int imgSize)
    {
        Check(resizedHwc, h, w, imgSize);
        int plane = imgSize * imgSize;
        var result = new float[3 * plane]; // (1, 3, S, S)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    result[c * plane + y * imgSize + x] = Normalize(resizedHwc[(y * w + x) * 3 + c], c);
        return result;
    }

    /// <summary>Same values as <see cref="ToInputTensor"/>, laid out NHWC: [1, imgSize, imgSize, 3].</summary>
    public static float[] ToInputTensorNhwc(byte[] resizedHwc, int h, int w, int imgSize)
    {
        Check(resizedHwc, h, w, imgSize);
        var result = new float[imgSize * imgSize * 3]; // (1, S, S, 3)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    result[(y * imgSize + x) * 3 + c] = Normalize(resizedHwc[(y * w + x) * 3 + c], c);
        return result;
    }

    // uint8 minus a float32 tensor promotes to float32: one rounding for the subtraction, one for the division.
    static float Normalize(byte v, int c) => (v - PixelMean[c]) / PixelStd[c];

    static void Check(byte[] image, int h, int w, int imgSize)
    {
        if (h > imgSize || w > imgSize) throw new ArgumentException($"image {h}x{w} larger than {imgSize}");
        if (image.Length != h * w * 3) throw new ArgumentException($"expected {h * w * 3} bytes, got {image.Length}", nameof(image));
    }
}
