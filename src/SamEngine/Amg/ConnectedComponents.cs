namespace SamEngine.Amg;

/// <summary>
/// 8-connected component labelling of a binary image, numbered as OpenCV's block-based algorithms
/// (BBDT / Spaghetti, the default for 8-connectivity) number them: label 0 is the background, and
/// components are numbered by the first 2 x 2 block, in raster order of blocks, that holds one of
/// their pixels. (Pixels of one 2 x 2 block are always 8-connected, so that order is well defined.)
/// </summary>
internal static class ConnectedComponents
{
    /// <summary>Labels [H·W] and the pixel count of each label (index 0: background).</summary>
    public static (int[] Labels, int[] Areas) Label(byte[] image, int height, int width)
    {
        var labels = new int[image.Length];
        var parent = new List<int> { 0 };
        // Pass 1: provisional labels in pixel raster order, unions with the four scanned neighbours.
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = y * width + x;
                if (image[i] == 0) continue;
                int label = 0;
                void Join(int neighbour)
                {
                    int other = labels[neighbour];
                    if (other == 0) return;
                    if (label == 0) label = other;
                    else Union(parent, label, other);
                }
                if (x > 0) Join(i - 1);
                if (y > 0)
                {
                    if (x > 0) Join(i - width - 1);
                    Join(i - width);
                    if (x + 1 < width) Join(i - width + 1);
                }
                if (label == 0)
                {
                    label = parent.Count;
                    parent.Add(label);
                }
                labels[i] = label;
            }

        // Pass 2: number the roots by the first block that holds their component.
        int blocksPerRow = (width + 1) / 2;
        var firstBlock = new long[parent.Count];
        Array.Fill(firstBlock, long.MaxValue);
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] == 0) continue;
            int root = Find(parent, labels[i]);
            labels[i] = root;
            int y = i / width, x = i % width;
            long block = (long)(y / 2) * blocksPerRow + x / 2;
            if (block < firstBlock[root]) firstBlock[root] = block;
        }
        var roots = Enumerable.Range(1, parent.Count - 1).Where(l => parent[l] == l).OrderBy(l => firstBlock[l]).ToArray();
        var final = new int[parent.Count];
        for (int k = 0; k < roots.Length; k++) final[roots[k]] = k + 1;
        var areas = new int[roots.Length + 1];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = final[labels[i]];
            areas[labels[i]]++;
        }
        return (labels, areas);
    }

    private static int Find(List<int> parent, int l)
    {
        while (parent[l] != l)
        {
            parent[l] = parent[parent[l]];
            l = parent[l];
        }
        return l;
    }

    private static void Union(List<int> parent, int a, int b)
    {
        a = Find(parent, a);
        b = Find(parent, b);
        if (a < b) parent[b] = a;
        else if (b < a) parent[a] = b;
    }
}
