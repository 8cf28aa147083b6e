using SamEngine.Backends;
using SamEngine.Config;
using SamEngine.Weights;

namespace SamEngine.Modeling;

/// <summary>
/// PLACEHOLDER until w-encoder lands (take w-encoder's version of this file on merge): the announced
/// signature of SAM 2.1's Hiera trunk + FPN neck, which reads no weights and cannot encode yet.
/// </summary>
public sealed class ImageEncoderHiera
{
    internal ImageEncoderHiera(WeightScope vb, SamArchitecture a) { }

    /// <summary>
    /// The three FPN levels kept after scalp, finest first, NHWC: [1, 4g, 4g, D], [1, 2g, 2g, D], [1, g, g, D]
    /// for an image [1, S, S, 3].
    /// </summary>
    public Tensor[] Forward(IBackend be, Tensor image, Action<string, Tensor>? tap = null, Action<int, int>? progress = null) =>
        throw new NotSupportedException("the SAM 2.1 Hiera image encoder is not built yet");
}
