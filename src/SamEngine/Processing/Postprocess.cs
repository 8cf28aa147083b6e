using System.Numerics;

namespace SamEngine.Processing;

/// <summary>
/// The official <c>Sam.postprocess_masks</c>: bilinear upsample of the low-res logits to
/// <c>img_size</c>, crop to the resized image, bilinear resize to the original image, threshold at 0.
/// Bilinear follows torch's CPU <c>F.interpolate(mode="bilinear", align_corners=False)</c> in float32.
/// </summary>
public static class Postprocess
{
    /// <summary>The official <c>mask_threshold</c>.</summary>
    public const float MaskThreshold = 0.0f;

    /// <summary>Bilinear resize of one float32 plane (h, w) to (outH, outW), as torch on CPU computes it.</summary>
    public static void ResizeBilinear(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int outH, int outW)
    {
        if (src.Length < h * w) throw new ArgumentException("source too short", nameof(src));
        if (dst.Length < outH * outW) throw new ArgumentException("destination too short", nameof(dst));
        var ay = new Axis(h, outH, outH);
        var ax = new Axis(w, outW, outW);
        var tmp = new float[h * outW];
        for (int y = 0; y < h; y++) HorizontalRow(src.Slice(y * w, w), ax, tmp.AsSpan(y * outW, outW));
        for (int yy = 0; yy < outH; yy++) VerticalRow(tmp, outW, ay, yy, dst.Slice(yy * outW, outW));
    }

    /// <summary>
    /// Upsamples each of <paramref name="planes"/> low-res logit planes (lowResSize²) to imgSize²,
    /// keeps the top-left inputH x inputW (the resized image) and resizes that to origH x origW.
    /// </summary>
    /// <remarks>
    /// Uses torch's generic (NCHW) kernel arithmetic throughout. For single-mask inputs torch 1.13
    /// takes its channels-last kernel instead (four weight products summed), which can differ in
    /// the last bits; measured on the fixtures as at most 1 flipped mask pixel in ~2.1 M.
    /// </remarks>
    /// <returns>Mask logits, (planes, origH, origW).</returns>
    public static float[] PostprocessMasks(float[] lowRes, int planes, int lowResSize, int imgSize,
        int inputH, int inputW, int origH, int origW)
    {
        int lowPlane = lowResSize * lowResSize;
        if (lowRes.Length != planes * lowPlane) throw new ArgumentException($"expected {planes * lowPlane} values, got {lowRes.Length}", nameof(lowRes));
        if (inputH > imgSize || inputW > imgSize) throw new ArgumentException("input size larger than img_size");

        // Only the cropped rows/columns of the img_size upsample are computed; each output value
        // depends on its own index only, so this equals cropping the full upsample.
        var upY = new Axis(lowResSize, imgSize, inputH);
        var upX = new Axis(lowResSize, imgSize, inputW);
        var downY = new Axis(inputH, origH, origH);
        var downX = new Axis(inputW, origW, origW);

        // Resizing to the same size is the identity (weights 1 and 0 on finite logits), so when the
        // image was not resized the crop is the result.
        bool identity = inputH == origH && inputW == origW;
        var rowsUp = new float[planes * lowResSize * inputW];   // (planes, lowResSize, inputW)
        var cropped = new float[planes * inputH * inputW];      // (planes, inputH, inputW)

        Parallel.For(0, planes * lowResSize, r => HorizontalRow(
            lowRes.AsSpan(r * lowResSize, lowResSize), upX, rowsUp.AsSpan(r * inputW, inputW)));
        Parallel.For(0, planes * inputH, r => VerticalRow(
            rowsUp.AsSpan(r / inputH * lowResSize * inputW, lowResSize * inputW), inputW, upY, r % inputH,
            cropped.AsSpan(r * inputW, inputW)));
        if (identity) return cropped;
        var rowsDown = new float[planes * inputH * origW];      // (planes, inputH, origW)
        var result = new float[planes * origH * origW];
        Parallel.For(0, planes * inputH, r => HorizontalRow(
            cropped.AsSpan(r * inputW, inputW), downX, rowsDown.AsSpan(r * origW, origW)));
        Parallel.For(0, planes * origH, r => VerticalRow(
            rowsDown.AsSpan(r / origH * inputH * origW, inputH * origW), origW, downY, r % origH,
            result.AsSpan(r * origW, origW)));
        return result;
    }

    private const int ThresholdChunk = 1 << 18;

    /// <summary>Binary masks: 1 where the logit is above <see cref="MaskThreshold"/>, else 0.</summary>
    public static byte[] Threshold(float[] logits)
    {
        var masks = new byte[logits.Length];
        Parallel.For(0, (logits.Length + ThresholdChunk - 1) / ThresholdChunk, c =>
        {
            int end = Math.Min(logits.Length, (c + 1) * ThresholdChunk);
            for (int i = c * ThresholdChunk; i < end; i++) masks[i] = logits[i] > MaskThreshold ? (byte)1 : (byte)0;
        });
        return masks;
    }

    /// <summary>
    /// Source indices and weights along one axis for output indices [0, count) of an
    /// inSize → outSize resize (torch's compute_source_index_and_lambda, align_corners=False).
    /// </summary>
    readonly struct Axis
    {
        public readonly int[] I0, I1;
        public readonly float[] L0, L1;

        public Axis(int inSize, int outSize, int count)
        {
            I0 = new int[count]; I1 = new int[count];
            L0 = new float[count]; L1 = new float[count];
            // area_pixel_compute_scale<float>: float division.
            float scale = outSize > 1 ? (float)inSize / outSize : 0f;
            for (int i = 0; i < count; i++)
            {
                // area_pixel_compute_source_index: scale * (i + 0.5) - 0.5 is evaluated in double
                // (the 0.5 literals are double) and stored as float, clamped at 0.
                float src = (float)(scale * (i + 0.5) - 0.5);
                if (src < 0) src = 0;
                int i0 = (int)src;
                I0[i] = i0;
                I1[i] = i0 < inSize - 1 ? i0 + 1 : i0;
                float l1 = Math.Clamp(src - i0, 0f, 1f);
                L1[i] = l1;
                L0[i] = 1f - l1;
            }
        }
    }

    /// <summary>Interpolates one row along x: dst[x] = src[i0] * l0 + src[i1] * l1 (float32).</summary>
    static void HorizontalRow(ReadOnlySpan<float> src, in Axis ax, Span<float> dst)
    {
        for (int x = 0; x < dst.Length; x++)
            dst[x] = src[ax.I0[x]] * ax.L0[x] + src[ax.I1[x]] * ax.L1[x];
    }

    /// <summary>
    /// Output row yy from x-interpolated rows (width w): torch interpolates x within rows y0 and y1
    /// first, then combines t0 * l0 + t1 * l1, so splitting the passes keeps the same roundings.
    /// </summary>
    static void VerticalRow(ReadOnlySpan<float> rows, int w, in Axis ay, int yy, Span<float> dst)
    {
        var r0 = rows.Slice(ay.I0[yy] * w, w);
        var r1 = rows.Slice(ay.I1[yy] * w, w);
        float l0 = ay.L0[yy], l1 = ay.L1[yy];
        int x = 0;
        // Separate multiply and add per lane: the same roundings as the scalar loop.
        if (Vector.IsHardwareAccelerated)
        {
            var v0 = new Vector<float>(l0);
            var v1 = new Vector<float>(l1);
            for (; x <= w - Vector<float>.Count; x += Vector<float>.Count)
                (new Vector<float>(r0.Slice(x)) * v0 + new Vector<float>(r1.Slice(x)) * v1).CopyTo(dst.Slice(x));
        }
        for (; x < w; x++) dst[x] = r0[x] * l0 + r1[x] * l1;
    }
}
