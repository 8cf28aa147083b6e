namespace SamEngine.Backends.Cpu;

/// <summary>
/// An inverted bottleneck (<see cref="IBackend.InvertedBottleneck"/>) streamed row by row: each worker
/// takes a band of output rows and keeps the k expanded input rows its depthwise window needs in a ring
/// (row iy in slot iy mod k; a band recomputes only the rows above its start), so the hidden tensors,
/// 64 MB each in MobileSAM's first stage, never leave the cache. Per output row: the missing expanded
/// rows (1x1 conv + GELU by the packed GEMM), one depthwise row (+ GELU), the projection (the GEMM
/// again) straight into the output, then the residual and activation on that row.
/// </summary>
internal static class StreamedBottleneck
{
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
        CpuParallel.For(0, b * bands, Scratches, (item, s) =>
        {
            int bi = item / bands, band = item % bands;
            int oy0 = (int)((long)ho * band / bands), oy1 = (int)((long)ho * (band + 1) / bands);
            var ring = Scratch.Ensure(ref s.Ring, k * w * e);
            var hidden = Scratch.Ensure(ref s.Hidden, wo * e);
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
                            Gemm.MultiplyPacked(path, w, e, c, x, (bi * h + iy) * w * c, c, expand.Panels, 0, c * nr,
                                ring, slot * w * e, e, accumulate: false, expand.Shift, Activation.Gelu);
                            slotRow[slot] = iy;
                        }
                        rows[ky] = pRing + (long)slot * w * e;
                    }
                    DepthwiseConv.Row(path, rows, w, e, pTaps, pShift, k, stride, Activation.Gelu, pHidden, wo);
                    int outRow = (bi * ho + oy) * wo * cout;
                    Gemm.MultiplyPacked(path, wo, cout, e, hidden, 0, e, project.Panels, 0, e * nr, y, outRow, cout, accumulate: false,
                        project.Shift, residual is null ? act : Activation.None);
                    if (residual is null) continue;
                    var o = y.AsSpan(outRow, wo * cout);
                    Elementwise.AddInPlace(o, residual.AsSpan(outRow, wo * cout));
                    Elementwise.Activate(o, act);
                }
            }
        });
    }
}
