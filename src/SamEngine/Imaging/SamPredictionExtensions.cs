using SamEngine.Modeling;

namespace SamEngine.Imaging;

/// <summary>Helpers to pick and save the masks of a <see cref="SamPrediction"/>.</summary>
public static class SamPredictionExtensions
{
    /// <summary>Mask <paramref name="index"/> (over all prompts, in order) as H x W bytes, 1 = object.</summary>
    public static ReadOnlySpan<byte> Mask(this SamPrediction prediction, int index)
    {
        int hw = prediction.Height * prediction.Width;
        if (index < 0 || index >= prediction.Batch * prediction.MaskCount)
            throw new ArgumentOutOfRangeException(nameof(index), $"mask {index} does not exist; the prediction has {prediction.Batch * prediction.MaskCount}");
        return prediction.Masks.AsSpan(index * hw, hw);
    }

    /// <summary>The index of the mask with the highest predicted IoU for prompt <paramref name="prompt"/>.</summary>
    public static int BestMask(this SamPrediction prediction, int prompt = 0)
    {
        var scores = prediction.IouPredictions.AsSpan(prompt * prediction.MaskCount, prediction.MaskCount);
        int best = 0;
        for (int i = 1; i < scores.Length; i++) if (scores[i] > scores[best]) best = i;
        return prompt * prediction.MaskCount + best;
    }

    /// <summary>Writes mask <paramref name="index"/> as a black-and-white PNG.</summary>
    public static void SaveMaskPng(this SamPrediction prediction, int index, string path) =>
        File.WriteAllBytes(path, MaskRenderer.MaskPng(prediction.Mask(index), prediction.Height, prediction.Width));
}
