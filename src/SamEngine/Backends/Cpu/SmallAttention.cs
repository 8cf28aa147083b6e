using System.Numerics;

namespace SamEngine.Backends.Cpu;

/// <summary>
/// Multi-head attention for the decoder's shapes, where one side is a handful of tokens (7 prompt
/// tokens against 4096 image positions, or the reverse): the tiled kernel's packing and tiles would
/// cost more than the arithmetic, so each query's scores are computed straight from the strided
/// q/k/v rows, soft-maxed in full (as upstream materialises them) and multiplied with v.
/// </summary>
internal static class SmallAttention
{
    /// <summary>The shorter side at or below which this kernel is used instead of the tiled one.</summary>
    public const int MaxShortSide = 32;

    private const int QueriesPerItem = 128;
    private static readonly ScratchPool<ScoreRow> Scratches = new();

    /// <summary>One worker's score row.</summary>
    private sealed class ScoreRow
    {
        public float[]? Scores;
    }

    /// <summary>
    /// q [B, nq, C], k and v [B, nk, C] → y [B, nq, C], <paramref name="heads"/> heads of C / heads
    /// channels; scores are (q·k) · <paramref name="postScale"/>.
    /// </summary>
    public static void Attend(float[] q, float[] k, float[] v, float[] y, int b, int nq, int nk, int c, int heads, float postScale)
    {
        int hd = c / heads, chunks = (nq + QueriesPerItem - 1) / QueriesPerItem;
        void Item(int item, ScoreRow s)
        {
            int chunk = item % chunks, bh = item / chunks, bi = bh / heads, head = bh % heads;
            var scores = Scratch.Ensure(ref s.Scores, nk).AsSpan(0, nk);
            int kBase = bi * nk * c + head * hd;
            for (int i = chunk * QueriesPerItem, end = Math.Min(nq, i + QueriesPerItem); i < end; i++)
            {
                var qi = q.AsSpan((bi * nq + i) * c + head * hd, hd);
                for (int j = 0; j < nk; j++) scores[j] = Elementwise.Dot(qi, k.AsSpan(kBase + j * c, hd)) * postScale;
                float max = Elementwise.Max(scores);
                float inv = 1f / Elementwise.ExpShiftedSum(scores, max);
                var yi = y.AsSpan((bi * nq + i) * c + head * hd, hd);
                yi.Clear();
                for (int j = 0; j < nk; j++) Elementwise.MultiplyAdd(yi, v.AsSpan(kBase + j * c, hd), scores[j] * inv);
            }
        }
        int items = b * heads * chunks;
        if ((long)items * QueriesPerItem * nk * hd < 1 << 16)
        {
            var s = Scratches.Rent();
            for (int i = 0; i < items; i++) Item(i, s);
            Scratches.Return(s);
        }
        else CpuParallel.For(0, items, Scratches, Item);
    }
}
