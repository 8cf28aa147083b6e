using System.Buffers;
using System.Numerics;
using System.Runtime.Intrinsics;

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
        if (src.Length < OutputLength(1, h, w)) throw new ArgumentException("source too short", nameof(src));
        if (dst.Length < OutputLength(1, outH, outW)) throw new ArgumentException("destination too short", nameof(dst));
        var ay = new Axis(h, outH, outH);
        var ax = new Axis(w, outW, outW);
        var tmp = new float[OutputLength(1, h, outW)];
        for (int y = 0; y < h; y++) HorizontalRow(src.Slice(y * w, w), ax, tmp.AsSpan(y * outW, outW));
        for (int yy = 0; yy < outH; yy++)
            VerticalRow(tmp.AsSpan(ay.I0[yy] * outW, outW), tmp.AsSpan(ay.I1[yy] * outW, outW), ay.L0[yy], ay.L1[yy], dst.Slice(yy * outW, outW));
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
        var logits = GC.AllocateUninitializedArray<float>(OutputLength(planes, origH, origW));
        PostprocessMasks(lowRes, planes, lowResSize, imgSize, inputH, inputW, origH, origW, logits, null);
        return logits;
    }

    /// <summary>
    /// As <see cref="PostprocessMasks(float[], int, int, int, int, int, int, int)"/>, writing the logits
    /// to <paramref name="logits"/> and/or the thresholded masks (0/1) to <paramref name="masks"/>, each
    /// (planes, origH, origW) or empty. With only masks asked for, no full-size logit plane is stored.
    /// </summary>
    public static void PostprocessMasks(ReadOnlySpan<float> lowRes, int planes, int lowResSize, int imgSize,
        int inputH, int inputW, int origH, int origW, Span<float> logits, Span<byte> masks)
    {
        int size = OutputLength(planes, origH, origW), lowResLength = OutputLength(planes, lowResSize, lowResSize);
        if (lowRes.Length != lowResLength) throw new ArgumentException($"expected {lowResLength} values, got {lowRes.Length}", nameof(lowRes));
        if (lowResSize <= 0 || inputH <= 0 || inputW <= 0 || inputH > imgSize || inputW > imgSize)
            throw new ArgumentException($"input size {inputH} x {inputW} must be positive and within img_size {imgSize}, and the low-res size {lowResSize} positive");
        if (!(logits.IsEmpty || logits.Length == size) || !(masks.IsEmpty || masks.Length == size))
            throw new ArgumentException($"outputs must hold {planes} x {origH} x {origW} values");

        // Resizing to the same size is the identity (weights 1 and 0 on finite logits): when the
        // first step keeps the low-res size (SAM 2.1's one resize to the image) only the second is made.
        if (imgSize == lowResSize && inputH == lowResSize && inputW == lowResSize)
        {
            Resize(lowRes, planes, lowResSize, lowResSize, new Axis(lowResSize, origH, origH), new Axis(lowResSize, origW, origW), logits, masks);
            return;
        }
        // Only the cropped rows/columns of the img_size upsample are computed; each output value
        // depends on its own index only, so this equals cropping the full upsample.
        var upY = new Axis(lowResSize, imgSize, inputH);
        var upX = new Axis(lowResSize, imgSize, inputW);
        // Likewise when the image was not resized the crop is the result.
        if (inputH == origH && inputW == origW)
        {
            Resize(lowRes, planes, lowResSize, lowResSize, upY, upX, logits, masks);
            return;
        }
        int cropLength = OutputLength(planes, inputH, inputW);
        var cropped = ArrayPool<float>.Shared.Rent(cropLength);
        try
        {
            var crop = cropped.AsSpan(0, cropLength);
            Resize(lowRes, planes, lowResSize, lowResSize, upY, upX, crop, default);
            Resize(crop, planes, inputH, inputW, new Axis(inputH, origH, origH), new Axis(inputW, origW, origW), logits, masks);
        }
        finally { ArrayPool<float>.Shared.Return(cropped); }
    }

    /// <summary>
    /// Bilinear resize of <paramref name="planes"/> planes (inH x inW) along the given axes into
    /// (planes, ay.Count, ax.Count) logits and/or thresholded masks: output rows in contiguous chunks
    /// on all cores, each chunk keeping the two x-interpolated source rows it is between.
    /// </summary>
    private static unsafe void Resize(ReadOnlySpan<float> source, int planes, int inH, int inW, Axis ay, Axis ax, Span<float> logits, Span<byte> masks)
    {
        int outH = ay.Count, outW = ax.Count;
        bool wantLogits = !logits.IsEmpty, wantMasks = !masks.IsEmpty;
        int sourceLength = source.Length, logitsLength = logits.Length, masksLength = masks.Length;
        fixed (float* ps = source, pl = logits)
        fixed (byte* pm = masks)
        {
            // Spans cannot enter the parallel lambda, so the pinned buffers cross it as pointer and
            // length and become whole spans again inside: every row below is a bounds-checked slice.
            float* sourceStart = ps, logitsStart = pl;
            byte* masksStart = pm;
            RowRanges(planes * outH, outW, (start, end) =>
            {
                var src = new ReadOnlySpan<float>(sourceStart, sourceLength);
                var dstLogits = new Span<float>(logitsStart, logitsLength);
                var dstMasks = new Span<byte>(masksStart, masksLength);
                var rows = new float[3 * outW]; // two x-interpolated source rows, and the output row when only masks are kept
                int cached0 = -1, cached1 = -1; // source rows (plane·inH + y) held in rows[0..w) and rows[w..2w)
                for (int r = start; r < end; r++)
                {
                    int plane = r / outH, yy = r % outH;
                    int s0 = plane * inH + ay.I0[yy], s1 = plane * inH + ay.I1[yy];
                    if (s0 != cached0)
                    {
                        if (s0 == cached1) { rows.AsSpan(outW, outW).CopyTo(rows); cached1 = -1; }
                        else HorizontalRow(src.Slice(s0 * inW, inW), ax, rows.AsSpan(0, outW));
                        cached0 = s0;
                    }
                    if (s1 != cached1)
                    {
                        HorizontalRow(src.Slice(s1 * inW, inW), ax, rows.AsSpan(outW, outW));
                        cached1 = s1;
                    }
                    var row = wantLogits ? dstLogits.Slice(r * outW, outW) : rows.AsSpan(2 * outW, outW);
                    VerticalRow(rows.AsSpan(0, outW), rows.AsSpan(outW, outW), ay.L0[yy], ay.L1[yy], row);
                    if (wantMasks) ThresholdRow(row, dstMasks.Slice(r * outW, outW));
                }
            });
        }
    }

    /// <summary>Runs body(start, end) over [0, rows) in contiguous chunks of about 256 K elements, on all cores.</summary>
    private static void RowRanges(int rows, int width, Action<int, int> body)
    {
        int chunks = (int)Math.Clamp((long)rows * width / (1 << 18), 1, Math.Max(1, Environment.ProcessorCount * 8));
        chunks = Math.Min(chunks, rows);
        if (chunks <= 1) { body(0, rows); return; }
        Parallel.For(0, chunks, c => body((int)((long)rows * c / chunks), (int)((long)rows * (c + 1) / chunks)));
    }

    /// <summary>
    /// The number of values in outputs of (<paramref name="planes"/>, <paramref name="height"/>,
    /// <paramref name="width"/>), computed without overflow; throws <see cref="ArgumentException"/>
    /// naming the size when a dimension is negative or the outputs do not fit in one array.
    /// </summary>
    internal static int OutputLength(int planes, int height, int width)
    {
        long n = Weights.ShapeUtil.Count([planes, height, width]);
        return n <= Array.MaxLength ? (int)n
            : throw new ArgumentException($"outputs of {planes} x {height} x {width} = {n} values are more than one array holds ({Array.MaxLength})");
    }

    /// <summary>
    /// Refuses an original image size that masks cannot be made for: both sides must be positive and
    /// the image at most <see cref="Imaging.ImageLoader.DefaultMaxPixels"/> pixels, the limit images
    /// are loaded under, so a size claimed by a file cannot make the predictor allocate more.
    /// </summary>
    public static void CheckOriginalSize(int height, int width)
    {
        if (height <= 0 || width <= 0)
            throw new ArgumentException($"image size {height} x {width} must be positive");
        long pixels = (long)height * width;
        if (pixels > Imaging.ImageLoader.DefaultMaxPixels)
            throw new ArgumentException($"image size {height} x {width} = {pixels} pixels is over the limit of {Imaging.ImageLoader.DefaultMaxPixels}");
    }

    /// <summary>Binary masks: 1 where the logit is above <see cref="MaskThreshold"/>, else 0.</summary>
    public static byte[] Threshold(float[] logits)
    {
        var masks = GC.AllocateUninitializedArray<byte>(logits.Length);
        const int Row = 4096;
        // In long: an array near the largest length would overflow int when rounded up to whole rows.
        RowRanges((int)(((long)logits.Length + Row - 1) / Row), Row, (start, end) =>
        {
            int from = start * Row, to = (int)Math.Min(logits.Length, (long)end * Row);
            ThresholdRow(logits.AsSpan(from, to - from), masks.AsSpan(from, to - from));
        });
        return masks;
    }

    /// <summary>masks[i] = logits[i] &gt; <see cref="MaskThreshold"/> ? 1 : 0.</summary>
    private static void ThresholdRow(ReadOnlySpan<float> logits, Span<byte> masks)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= logits.Length - 64; i += 64)
            {
                // Compare lanes are 0 / -1; narrowing twice keeps them, and & 1 makes 0 / 1.
                var a = Vector512.Narrow(Gt(logits, i), Gt(logits, i + 16));
                var b = Vector512.Narrow(Gt(logits, i + 32), Gt(logits, i + 48));
                (Vector512.Narrow(a, b).AsByte() & Vector512<byte>.One).CopyTo(masks[i..]);
            }
        for (; i < logits.Length; i++) masks[i] = logits[i] > MaskThreshold ? (byte)1 : (byte)0;

        static Vector512<int> Gt(ReadOnlySpan<float> x, int i) => Vector512.GreaterThan(Vector512.Create<float>(x[i..]), Vector512.Create(MaskThreshold)).AsInt32();
    }

    /// <summary>
    /// Source indices and weights along one axis for output indices [0, count) of an
    /// inSize → outSize resize (torch's compute_source_index_and_lambda, align_corners=False).
    /// </summary>
    readonly struct Axis
    {
        public readonly int[] I0, I1;
        public readonly float[] L0, L1;

        /// <summary>Output indices covered.</summary>
        public int Count => I0.Length;

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
        ReadOnlySpan<int> i0 = ax.I0, i1 = ax.I1;
        ReadOnlySpan<float> l0 = ax.L0, l1 = ax.L1;
        for (int x = 0; x < dst.Length; x++)
            dst[x] = src[i0[x]] * l0[x] + src[i1[x]] * l1[x];
    }

    /// <summary>
    /// Output row yy from x-interpolated rows (width w): torch interpolates x within rows y0 and y1
    /// first, then combines t0 * l0 + t1 * l1, so splitting the passes keeps the same roundings.
    /// </summary>
    static void VerticalRow(ReadOnlySpan<float> r0, ReadOnlySpan<float> r1, float l0, float l1, Span<float> dst)
    {
        int x = 0, w = dst.Length;
        // Separate multiply and add per lane: the same roundings as the scalar loop.
        if (Vector512.IsHardwareAccelerated)
        {
            var v0 = Vector512.Create(l0);
            var v1 = Vector512.Create(l1);
            for (; x <= w - 16; x += 16)
                (Vector512.Create<float>(r0[x..]) * v0 + Vector512.Create<float>(r1[x..]) * v1).CopyTo(dst[x..]);
        }
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
