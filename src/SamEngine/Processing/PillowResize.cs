namespace SamEngine.Processing;

/// <summary>
/// Bit-exact re-implementation of Pillow 9.4 <c>Image.resize(size, BILINEAR)</c> for 8-bit RGB,
/// which is what the official <c>ResizeLongestSide.apply_image</c> runs (torchvision <c>resize</c>
/// on a PIL image). Behaviour follows Pillow's libImaging/Resample.c: separable convolution with a
/// triangle filter widened by the scale when downscaling, coefficients in fixed point.
/// </summary>
public static class PillowResize
{
    // Pillow: 32 bits minus 8 for the pixel value minus 2 guard bits.
    const int PrecisionBits = 32 - 8 - 2;
    const int Channels = 3;

    /// <summary>Resizes an RGB image stored as HWC bytes, (h, w) to (outH, outW).</summary>
    /// <returns>The resized image, HWC, <c>outH * outW * 3</c> bytes.</returns>
    public static byte[] Resize(ReadOnlySpan<byte> hwc, int h, int w, int outH, int outW)
    {
        if (h <= 0 || w <= 0 || outH <= 0 || outW <= 0) throw new ArgumentOutOfRangeException(nameof(h), "sizes must be positive");
        if (hwc.Length != h * w * Channels) throw new ArgumentException($"expected {h * w * Channels} bytes, got {hwc.Length}", nameof(hwc));

        // ImagingResampleInner with the default box (0, 0, w, h): a pass runs only if its size changes.
        bool needHorizontal = outW != w, needVertical = outH != h;
        var vert = Coefficients.Compute(h, outH);
        byte[] current = hwc.ToArray();
        if (needHorizontal)
        {
            // Only the source rows the vertical pass will read are resampled horizontally.
            int firstRow = vert.Start[0];
            int lastRow = vert.Start[outH - 1] + vert.Count[outH - 1];
            current = Horizontal(current, w, firstRow, lastRow - firstRow, Coefficients.Compute(w, outW), outW);
            for (int i = 0; i < outH; i++) vert.Start[i] -= firstRow;
        }
        int curW = needHorizontal ? outW : w;
        if (needVertical) current = Vertical(current, curW, vert, outH);
        return current;
    }

    /// <summary>Per output pixel: the first source index, the tap count and fixed-point weights.</summary>
    sealed class Coefficients
    {
        public required int[] Start;
        public required int[] Count;
        public required int[] Weights; // (outSize, KSize)
        public required int KSize;

        /// <summary>Pillow's precompute_coeffs (box = [0, inSize]) followed by normalize_coeffs_8bpc.</summary>
        public static Coefficients Compute(int inSize, int outSize)
        {
            const double filterSupport = 1.0; // bilinear (triangle) filter
            double scale = (double)inSize / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = filterSupport * filterScale;
            int ksize = (int)Math.Ceiling(support) * 2 + 1;
            var start = new int[outSize];
            var count = new int[outSize];
            var weights = new int[outSize * ksize];
            var k = new double[ksize];
            for (int xx = 0; xx < outSize; xx++)
            {
                double center = (xx + 0.5) * scale;
                double ss = 1.0 / filterScale;
                // Pillow rounds the window ends with (int)(v + 0.5), i.e. truncation after +0.5.
                int xmin = Math.Max((int)(center - support + 0.5), 0);
                int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
                double ww = 0.0;
                for (int x = 0; x < xmax; x++)
                {
                    double wgt = Triangle((x + xmin - center + 0.5) * ss);
                    k[x] = wgt;
                    ww += wgt;
                }
                for (int x = 0; x < xmax; x++)
                {
                    double v = ww != 0.0 ? k[x] / ww : k[x];
                    // normalize_coeffs_8bpc: round half away from zero, then truncate to int.
                    weights[xx * ksize + x] = v < 0
                        ? (int)(-0.5 + v * (1 << PrecisionBits))
                        : (int)(0.5 + v * (1 << PrecisionBits));
                }
                start[xx] = xmin;
                count[xx] = xmax;
            }
            return new Coefficients { Start = start, Count = count, Weights = weights, KSize = ksize };
        }

        static double Triangle(double x)
        {
            if (x < 0.0) x = -x;
            return x < 1.0 ? 1.0 - x : 0.0;
        }
    }

    /// <summary>Fixed-point accumulator to byte: Pillow's clip8 (shift, then clamp to 0..255).</summary>
    static byte Clip8(int acc)
    {
        int v = acc >> PrecisionBits;
        return (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
    }

    /// <summary>ImagingResampleHorizontal_8bpc on rows [rowOffset, rowOffset + rows) of src (width w).</summary>
    static byte[] Horizontal(byte[] src, int w, int rowOffset, int rows, Coefficients c, int outW)
    {
        var dst = new byte[rows * outW * Channels];
        Parallel.For(0, rows, yy =>
        {
            int srcRow = (yy + rowOffset) * w * Channels;
            int dstRow = yy * outW * Channels;
            for (int xx = 0; xx < outW; xx++)
            {
                int xmin = c.Start[xx], n = c.Count[xx], kOff = xx * c.KSize;
                int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                for (int x = 0; x < n; x++)
                {
                    int p = srcRow + (x + xmin) * Channels, kx = c.Weights[kOff + x];
                    s0 += src[p] * kx;
                    s1 += src[p + 1] * kx;
                    s2 += src[p + 2] * kx;
                }
                int o = dstRow + xx * Channels;
                dst[o] = Clip8(s0);
                dst[o + 1] = Clip8(s1);
                dst[o + 2] = Clip8(s2);
            }
        });
        return dst;
    }

    /// <summary>ImagingResampleVertical_8bpc: src has width w, bounds already relative to its first row.</summary>
    static byte[] Vertical(byte[] src, int w, Coefficients c, int outH)
    {
        int rowLen = w * Channels;
        var dst = new byte[outH * rowLen];
        Parallel.For(0, outH, yy =>
        {
            int ymin = c.Start[yy], n = c.Count[yy], kOff = yy * c.KSize;
            for (int i = 0; i < rowLen; i++)
            {
                int acc = 1 << (PrecisionBits - 1);
                for (int y = 0; y < n; y++) acc += src[(y + ymin) * rowLen + i] * c.Weights[kOff + y];
                dst[yy * rowLen + i] = Clip8(acc);
            }
        });
        return dst;
    }
}
