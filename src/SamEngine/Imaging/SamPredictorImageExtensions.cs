using SamEngine.Modeling;
using SixLabors.ImageSharp;

namespace SamEngine.Imaging;

/// <summary><see cref="SamPredictor.SetImage"/> for image files and ImageSharp images.</summary>
public static class SamPredictorImageExtensions
{
    /// <summary>Loads the image at <paramref name="path"/> (see <see cref="ImageLoader"/>) and encodes it.</summary>
    public static RgbImage SetImage(this SamPredictor predictor, string path, Action<int, int>? progress = null)
    {
        var image = ImageLoader.Load(path);
        predictor.SetImage(image, progress);
        return image;
    }

    /// <summary>Encodes an RGB image.</summary>
    public static void SetImage(this SamPredictor predictor, RgbImage image, Action<int, int>? progress = null) =>
        predictor.SetImage(image.Pixels, image.Height, image.Width, progress: progress);

    /// <summary>Encodes an ImageSharp image (any pixel type; alpha is dropped).</summary>
    public static void SetImage(this SamPredictor predictor, Image image, Action<int, int>? progress = null) =>
        predictor.SetImage(ImageLoader.FromImage(image), progress);
}
