namespace SamEngine.Amg;

/// <summary>
/// The official <c>remove_small_regions</c>: fills holes or removes islands smaller than an area,
/// using 8-connected components as OpenCV's <c>connectedComponentsWithStats(mask, 8)</c> labels them.
/// </summary>
public static class SmallRegions
{
    /// <summary>Which regions <see cref="Remove"/> works on.</summary>
    public enum Mode
    {
        /// <summary>Connected regions of unset pixels (holes, and the outside) become set when small.</summary>
        Holes,
        /// <summary>Connected regions of set pixels are cleared when small (the largest stays if all are).</summary>
        Islands,
    }

    /// <summary>
    /// Returns the mask with every region of fewer than <paramref name="areaThreshold"/> pixels filled
    /// (holes) or removed (islands), and whether any region was that small. As upstream, "changed" is
    /// reported even when the only island, kept as the largest, leaves the mask as it was.
    /// </summary>
    public static (byte[] Mask, bool Changed) Remove(ReadOnlySpan<byte> mask, int height, int width, double areaThreshold, Mode mode)
    {
        if (mask.Length != height * width) throw new ArgumentException($"mask of {mask.Length} pixels is not {height} x {width}");
        bool holes = mode == Mode.Holes;
        var working = new byte[mask.Length];
        for (int i = 0; i < mask.Length; i++) working[i] = (mask[i] != 0) != holes ? (byte)1 : (byte)0;
        var (labels, areas) = ConnectedComponents.Label(working, height, width);

        // areas[0] is the background (working == 0); regions are labels 1..n.
        var small = new bool[areas.Length];
        bool any = false;
        for (int l = 1; l < areas.Length; l++)
            if (areas[l] < areaThreshold) small[l] = any = true;
        if (!any) return (mask.ToArray(), false);

        var fill = new bool[areas.Length];
        if (holes)
        {
            fill[0] = true; // the mask itself
            for (int l = 1; l < areas.Length; l++) fill[l] = small[l];
        }
        else
        {
            bool kept = false;
            for (int l = 1; l < areas.Length; l++) kept |= fill[l] = !small[l];
            if (!kept) fill[LargestRegion(areas)] = true;
        }
        var result = new byte[mask.Length];
        for (int i = 0; i < result.Length; i++) result[i] = fill[labels[i]] ? (byte)1 : (byte)0;
        return (result, true);
    }

    // First label with the largest area (np.argmax over labels 1..n).
    private static int LargestRegion(int[] areas)
    {
        int best = 1;
        for (int l = 2; l < areas.Length; l++)
            if (areas[l] > areas[best]) best = l;
        return best;
    }
}
