namespace SamEngine.Backends.Cpu;

/// <summary>
/// An inverted bottleneck (<see cref="IBackend.InvertedBottleneck"/>) streamed row by row: each work item
/// takes a band of output rows and a strip of output columns, and keeps the k expanded input rows of the
/// strip (with its halo) that its depthwise window needs in a ring (row iy in slot iy mod k; an item
/// recomputes only the rows above its band and the halo columns beside its strip). Strips are as wide as
/// lets the ring stay in half of a 1 MB L2 (MobileSAM's first stage: 256 px x 256 channels, 3 rows of
/// 256 KB each in one strip, would not), so the hidden tensors, 64 MB each there, never leave the cache.
/// Per output row: the missing expanded rows (1x1 conv + GELU by the packed GEMM), one depthwise row
/// (+ GELU), the projection (the GEMM again) straight into the output, then the residual and activation.
/// </summary>
internal static class StreamedBottleneck
{
    /// <summary>Floats of expanded rows a ring holds at most (512 KB): whole rows where they fit, else strips.</summary>
    private const int RingFloats = 1 << 17;

    /// <summary>One worker's ring of expanded rows, its depthwise row, and which input row each ring slot holds.</summary>
    private sealed class BandScratch
    {
        public float[]? Ring, Hidden;
        public int[]? SlotRow;
    }

    private static readonly ScratchPool<BandScratch> Scratches = new();

    /// <summary>A 1x1 conv as the GEMM reads it: B packed for the path, and the folded norm's shift.</summary>
    public sealed record PackedConv(float[] Panels, float[] Shift, int In, int Out);

    /// <summary>
    /// x [b, h, w, expand.In] → y [b, ho, wo, project.Out]: y = act(project(GELU(dw(GELU(expand(x))))) + residual).
    /// <paramref name="taps"/> [k·k, E] and <paramref name="dwShift"/> [E] are the folded depthwise conv.
    /// </summary>
    public static unsafe void Run(SimdPath path, float[] x, int b, int h, int w, PackedConv expand, float[] taps, float[] dwShift, int k,
        int stride, PackedConv project, Activation act, float[]? residual, float[] y, int ho, int wo)
    {
        int c = expand.In, e = expand.Out, cout = project.Out, nr = Gemm.Panel(path), pad = k / 2;
        int bands = Math.Min(ho, 2 * Environment.ProcessorCount);
        // The widest strip whose k expanded rows (with the halo) fit the ring; strips of equal width.
        int maxStrip = Math.Max(1, (RingFloats / (k * e) - (k - 1)) / stride), strips = (wo + maxStrip - 1) / maxStrip;
        CpuParallel.For(0, b * bands * strips, Scratches, (item, s) =>
        {
            int strip = item % strips, band = item / strips % bands, bi = item / strips / bands;
            int oy0 = (int)((long)ho * band / bands), oy1 = (int)((long)ho * (band + 1) / bands);
            int ox0 = (int)((long)wo * strip / strips), ox1 = (int)((long)wo * (strip + 1) / strips);
            int ix0 = Math.Max(0, ox0 * stride - pad), ix1 = Math.Min(w, (ox1 - 1) * stride + pad + 1), cols = ix1 - ix0;
            var ring = Scratch.Ensure(ref s.Ring, k * cols * e);
            var hidden = Scratch.Ensure(ref s.Hidden, (ox1 - ox0) * e);
            var slotRow = Scratch.Ensure(ref s.SlotRow, k);
            Array.Fill(slotRow, -1, 0, k);
            float** rows = stackalloc float*[k];
            fixed (float* pRing = ring, pHidden = hidden, pTaps = taps, pShift = dwShift)
            {
                for (int oy = oy0; oy < oy1; oy++)
                {
                    for (int ky = 0; ky < k; ky++)
                    {
                        int iy = oy * stride - pad + ky, slot = iy % k;
                        if (iy < 0 || iy >= h) { rows[ky] = null; continue; }
                        if (slotRow[slot] != iy)
                        {
                            Gemm.MultiplyPacked(path, cols, e, c, x, ((bi * h + iy) * w + ix0) * c, c, expand.Panels, 0, c * nr,
                                ring, slot * cols * e, e, accumulate: false, expand.Shift, Activation.Gelu);
                            slotRow[slot] = iy;
                        }
                        rows[ky] = pRing + (long)slot * cols * e - (long)ix0 * e; // addressed by image column
                    }
                    DepthwiseConv.Row(path, rows, ix0, ix1, e, pTaps, pShift, k, stride, Activation.Gelu, pHidden, ox0, ox1);
                    int outStart = ((bi * ho + oy) * wo + ox0) * cout, outLength = (ox1 - ox0) * cout;
                    Gemm.MultiplyPacked(path, ox1 - ox0, cout, e, hidden, 0, e, project.Panels, 0, e * nr, y, outStart, cout, accumulate: false,
                        project.Shift, residual is null ? act : Activation.None);
                    if (residual is null) continue;
                    var o = y.AsSpan(outStart, outLength);
                    Elementwise.AddInPlace(o, residual.AsSpan(outStart, outLength));
                    Elementwise.Activate(o, act);
                }
            }
        });
    }
}
