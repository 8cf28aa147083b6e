namespace SamEngine.Processing;

/// <summary>
/// SAM 2.1's <c>SAM2Transforms</c> (<c>sam2/utils/transforms.py</c>) as the versions sam2 requires run it:
/// <c>ToTensor</c> (bytes / 255 in float32), a square <c>Resize((S, S))</c>, which torchvision &gt;= 0.17
/// antialiases on tensors (torch's <c>_upsample_bilinear2d_aa</c>, not PIL), <c>Normalize</c> with the
/// ImageNet mean and std; and the optional hole / sprinkle removal of <c>postprocess_masks</c>.
/// </summary>
public static class Sam2Transforms
{
    /// <summary><c>Normalize</c>'s mean, RGB, on the [0, 1] scale.</summary>
    public static ReadOnlySpan<float> Mean => [0.485f, 0.456f, 0.406f];

    /// <summary><c>Normalize</c>'s std, RGB.</summary>
    public static ReadOnlySpan<float> Std => [0.229f, 0.224f, 0.225f];

    /// <summary>An RGB image (HWC bytes, h x w) as the model input [1, S, S, 3] (NHWC).</summary>
    public static float[] ToInputTensorNhwc(byte[] rgb, int h, int w, int size)
    {
        if (h <= 0 || w <= 0 || rgb.Length != (long)h * w * 3) throw new ArgumentException($"image of {rgb.Length} bytes is not {h} x {w} x 3 RGB");
        var result = new float[size * size * 3];
        var plane = new float[h * w];
        var resized = new float[size * size];
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < plane.Length; i++) plane[i] = rgb[i * 3 + c] / 255f;
            AntialiasedResize.Resize(plane, h, w, resized, size, size);
            float mean = Mean[c], std = Std[c];
            for (int i = 0; i < resized.Length; i++) result[i * 3 + c] = (resized[i] - mean) / std;
        }
        return result;
    }

    /// <summary>
    /// <c>postprocess_masks</c>' clean-up of low-res logits [planes, size, size] before they are upsampled:
    /// background components (logits &lt;= 0) of at most <paramref name="maxHoleArea"/> pixels become 10,
    /// then foreground components (logits &gt; 0, found on the logits as they came in) of at most
    /// <paramref name="maxSprinkleArea"/> pixels become -10. Components are 8-connected, as the official
    /// CUDA kernel labels them; 0 turns a step off. Returns a new array; the input is left as it was.
    /// </summary>
    public static float[] RemoveHolesAndSprinkles(ReadOnlySpan<float> lowRes, int planes, int size, float maxHoleArea, float maxSprinkleArea)
    {
        int n = size * size;
        if (lowRes.Length != planes * n) throw new ArgumentException($"expected {planes} x {size} x {size} logits, got {lowRes.Length}");
        var result = lowRes.ToArray();
        var binary = new byte[n];
        for (int p = 0; p < planes; p++)
        {
            var src = lowRes.Slice(p * n, n);
            var dst = result.AsSpan(p * n, n);
            if (maxHoleArea > 0)
            {
                for (int i = 0; i < n; i++) binary[i] = src[i] <= Postprocess.MaskThreshold ? (byte)1 : (byte)0;
                Fill(binary, size, maxHoleArea, Postprocess.MaskThreshold + 10f, dst);
            }
            if (maxSprinkleArea > 0)
            {
                for (int i = 0; i < n; i++) binary[i] = src[i] > Postprocess.MaskThreshold ? (byte)1 : (byte)0;
                Fill(binary, size, maxSprinkleArea, Postprocess.MaskThreshold - 10f, dst);
            }
        }
        return result;
    }

    /// <summary>Sets <paramref name="value"/> on the pixels of every component of <paramref name="binary"/> with area &lt;= <paramref name="maxArea"/>.</summary>
    private static void Fill(byte[] binary, int size, float maxArea, float value, Span<float> dst)
    {
        var (labels, areas) = Amg.ConnectedComponents.Label(binary, size, size);
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] > 0 && areas[labels[i]] <= maxArea) dst[i] = value;
    }
}

/// <summary>
/// torch's antialiased bilinear resize of float planes (<c>F.interpolate(mode="bilinear",
/// align_corners=False, antialias=True)</c>, the CPU separable kernel): along each axis every output
/// sample averages the inputs under a triangle filter stretched by the scale when shrinking, with
/// weights normalised to sum to 1; the width is resized first, then the height, in float32.
/// </summary>
public static class AntialiasedResize
{
    /// <summary>Resizes one plane (h x w) to (outH x outW).</summary>
    public static void Resize(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int outH, int outW)
    {
        if (src.Length != h * w || dst.Length != outH * outW) throw new ArgumentException("plane sizes do not match");
        var ax = Weights(w, outW);
        var ay = Weights(h, outH);
        var tmp = new float[h * outW];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < outW; x++)
            {
                var (start, wts) = ax[x];
                float acc = src[y * w + start] * wts[0];
                for (int j = 1; j < wts.Length; j++) acc += src[y * w + start + j] * wts[j];
                tmp[y * outW + x] = acc;
            }
        for (int y = 0; y < outH; y++)
        {
            var (start, wts) = ay[y];
            for (int x = 0; x < outW; x++)
            {
                float acc = tmp[start * outW + x] * wts[0];
                for (int j = 1; j < wts.Length; j++) acc += tmp[(start + j) * outW + x] * wts[j];
                dst[y * outW + x] = acc;
            }
        }
    }

    /// <summary>
    /// torch's <c>_compute_weights_aa</c> for every output index of an inSize → outSize axis: the first
    /// input index and the normalised weights of the inputs it reads.
    /// </summary>
    internal static (int Start, float[] Weights)[] Weights(int inSize, int outSize)
    {
        float scale = (float)inSize / outSize;
        float support = scale >= 1f ? 1f * scale : 1f; // interp_size / 2 = 1 for bilinear
        float invScale = scale >= 1f ? 1f / scale : 1f;
        int maxSize = (int)Math.Ceiling(support) * 2 + 1;
        var result = new (int, float[])[outSize];
        for (int i = 0; i < outSize; i++)
        {
            // torch mixes float (scalar_t) and double (the 0.5 literals) exactly so.
            float center = (float)(scale * (i + 0.5));
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xsize = Math.Clamp(Math.Min((int)(center + support + 0.5), inSize) - xmin, 0, maxSize);
            var w = new float[Math.Max(xsize, 1)];
            float total = 0f;
            for (int j = 0; j < xsize; j++)
            {
                float t = Math.Abs((float)(((float)(j + xmin) - center + 0.5) * invScale));
                w[j] = t < 1f ? 1f - t : 0f;
                total += w[j];
            }
            if (total != 0f)
                for (int j = 0; j < xsize; j++) w[j] /= total;
            result[i] = (xmin, w);
        }
        return result;
    }
}
