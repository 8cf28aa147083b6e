namespace SamEngine.Amg;

/// <summary>
/// An uncompressed COCO run-length encoding of a binary mask: runs over the pixels in column-major
/// (Fortran) order, alternating 0s and 1s and always starting with a run of 0s (possibly empty),
/// as the official <c>mask_to_rle_pytorch</c> writes it.
/// </summary>
public sealed record RunLengthEncoding
{
    /// <summary>Creates an RLE; the counts must add up to height · width.</summary>
    public RunLengthEncoding(int height, int width, int[] counts)
    {
        if (height < 0 || width < 0) throw new ArgumentException($"RLE size {height} x {width} is negative");
        long total = 0;
        foreach (int c in counts)
        {
            if (c < 0) throw new ArgumentException($"RLE count {c} is negative");
            total += c;
        }
        if (total != (long)height * width) throw new ArgumentException($"RLE counts add up to {total}, not {height} x {width}");
        Height = height;
        Width = width;
        Counts = counts;
    }

    /// <summary>Mask height (rows).</summary>
    public int Height { get; }

    /// <summary>Mask width (columns).</summary>
    public int Width { get; }

    /// <summary>Run lengths, column-major, starting with a run of 0s.</summary>
    public int[] Counts { get; }

    /// <summary>Number of pixels set: the sum of every second run (<c>area_from_rle</c>).</summary>
    public int Area
    {
        get
        {
            int area = 0;
            for (int i = 1; i < Counts.Length; i += 2) area += Counts[i];
            return area;
        }
    }

    /// <summary>Encodes a row-major mask (nonzero = set) of height x width.</summary>
    public static RunLengthEncoding FromMask(ReadOnlySpan<byte> mask, int height, int width)
    {
        if (mask.Length != height * width) throw new ArgumentException($"mask of {mask.Length} pixels is not {height} x {width}");
        var runs = new RunBuilder();
        for (int x = 0; x < width; x++)
            for (int y = 0; y < height; y++) runs.Add(mask[y * width + x] != 0);
        return runs.Finish(height, width);
    }

    /// <summary>Decodes to a row-major mask of 0/1 bytes (<c>rle_to_mask</c>).</summary>
    public byte[] ToMask()
    {
        var mask = new byte[Height * Width];
        int index = 0;
        for (int i = 0; i < Counts.Length; i++)
        {
            byte value = (byte)(i & 1);
            for (int k = 0; k < Counts[i]; k++, index++)
            {
                if (value != 0) mask[index % Height * Width + index / Height] = 1;
            }
        }
        return mask;
    }

    /// <summary>Records compare by value, counts included.</summary>
    public bool Equals(RunLengthEncoding? other) =>
        other is not null && Height == other.Height && Width == other.Width && Counts.AsSpan().SequenceEqual(other.Counts);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Height, Width, Counts.Length);
}

/// <summary>Collects column-major pixels (or whole runs) into RLE counts that start with a 0-run.</summary>
internal sealed class RunBuilder
{
    private readonly List<int> _counts = [];
    private bool _value;
    private int _run;

    /// <summary>Appends one pixel.</summary>
    public void Add(bool value)
    {
        if (value != _value) Flush(value);
        _run++;
    }

    /// <summary>Appends <paramref name="length"/> pixels of one value.</summary>
    public void AddRun(bool value, int length)
    {
        if (length <= 0) return;
        if (value != _value) Flush(value);
        _run += length;
    }

    private void Flush(bool next)
    {
        _counts.Add(_run);
        _run = 0;
        _value = next;
    }

    /// <summary>Closes the last run and returns the RLE.</summary>
    public RunLengthEncoding Finish(int height, int width)
    {
        // The last run is written even when empty only if nothing was added (an empty mask of size 0).
        if (_run > 0 || _counts.Count == 0) _counts.Add(_run);
        return new RunLengthEncoding(height, width, _counts.ToArray());
    }
}
