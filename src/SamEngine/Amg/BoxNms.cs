namespace SamEngine.Amg;

/// <summary>
/// Greedy box non-maximum suppression as torchvision's CPU <c>nms</c> computes it (used by the official
/// generator through <c>batched_nms</c> with a single category): boxes are visited by descending score,
/// a box is kept unless an already kept box overlaps it with IoU above the threshold. Float32 math,
/// areas (x1 - x0)(y1 - y0) without the +1 of older code.
/// </summary>
public static class BoxNms
{
    /// <summary>
    /// Indices of the kept boxes, by descending score. Equal scores keep their input order (torch's sort
    /// leaves that order unspecified; a stable sort is one of its valid outcomes).
    /// </summary>
    public static int[] Run(IReadOnlyList<PixelBox> boxes, IReadOnlyList<float> scores, double iouThreshold)
    {
        if (boxes.Count != scores.Count) throw new ArgumentException($"{boxes.Count} boxes but {scores.Count} scores");
        int n = boxes.Count;
        var order = Enumerable.Range(0, n).ToArray();
        // Descending; NaN scores last, as torch sorts them.
        var keys = scores.Select(s => float.IsNaN(s) ? float.PositiveInfinity : -s).ToArray();
        Array.Sort(keys, order); // Array.Sort is not stable: break ties by index below.
        StableTies(keys, order);

        float threshold = (float)iouThreshold;
        var suppressed = new bool[n];
        var keep = new List<int>();
        for (int a = 0; a < n; a++)
        {
            int i = order[a];
            if (suppressed[i]) continue;
            keep.Add(i);
            var bi = boxes[i];
            float areaI = (float)(bi.X1 - bi.X0) * (bi.Y1 - bi.Y0);
            for (int b = a + 1; b < n; b++)
            {
                int j = order[b];
                if (suppressed[j]) continue;
                var bj = boxes[j];
                float w = MathF.Max(0f, (float)Math.Min(bi.X1, bj.X1) - Math.Max(bi.X0, bj.X0));
                float h = MathF.Max(0f, (float)Math.Min(bi.Y1, bj.Y1) - Math.Max(bi.Y0, bj.Y0));
                float inter = w * h;
                float areaJ = (float)(bj.X1 - bj.X0) * (bj.Y1 - bj.Y0);
                float iou = inter / (areaI + areaJ - inter); // 0/0 = NaN never suppresses
                if (iou > threshold) suppressed[j] = true;
            }
        }
        return keep.ToArray();
    }

    // Within each run of equal keys, put the indices back in ascending order.
    private static void StableTies(float[] keys, int[] order)
    {
        for (int start = 0; start < keys.Length;)
        {
            int end = start + 1;
            while (end < keys.Length && keys[end].Equals(keys[start])) end++;
            if (end - start > 1) Array.Sort(order, start, end - start);
            start = end;
        }
    }
}
