using System.Text;

namespace SamEngine.Amg;

/// <summary>
/// The compressed COCO RLE string of pycocotools (<c>rleToString</c> / <c>rleFrString</c>): each count,
/// after the third replaced by its difference to the count two places back, is written in 5-bit groups,
/// least significant first, as characters 48 + group, with 0x20 marking that more groups follow and the
/// last group's 0x10 bit carrying the sign.
/// </summary>
public static class CocoRle
{
    /// <summary>Encodes the counts of an uncompressed RLE as the COCO string.</summary>
    public static string Encode(IReadOnlyList<int> counts)
    {
        var text = new StringBuilder(counts.Count * 2);
        for (int i = 0; i < counts.Count; i++)
        {
            long x = counts[i];
            if (i > 2) x -= counts[i - 2]; // pycocotools deltas from the fourth count on, not the third
            bool more = true;
            while (more)
            {
                int c = (int)(x & 0x1f);
                x >>= 5; // arithmetic shift: negative deltas end at -1
                more = (c & 0x10) != 0 ? x != -1 : x != 0;
                if (more) c |= 0x20;
                text.Append((char)(c + 48));
            }
        }
        return text.ToString();
    }

    /// <summary>Decodes a COCO string back to run lengths; throws <see cref="FormatException"/> on malformed text.</summary>
    public static int[] Decode(string text)
    {
        var counts = new List<int>();
        int p = 0;
        while (p < text.Length)
        {
            long x = 0;
            int k = 0;
            bool more = true;
            while (more)
            {
                if (p >= text.Length) throw new FormatException("COCO RLE string ends inside a count");
                int c = text[p] - 48;
                if (c is < 0 or > 0x3f) throw new FormatException($"COCO RLE string has an invalid character '{text[p]}'");
                if (k > 12) throw new FormatException("COCO RLE count is too long");
                x |= (long)(c & 0x1f) << (5 * k);
                more = (c & 0x20) != 0;
                p++;
                k++;
                if (!more && (c & 0x10) != 0) x |= -1L << (5 * k);
            }
            if (counts.Count > 2) x += counts[^2];
            if (x is < 0 or > int.MaxValue) throw new FormatException($"COCO RLE count {x} is out of range");
            counts.Add((int)x);
        }
        return counts.ToArray();
    }

    /// <summary>The COCO string of an RLE.</summary>
    public static string Encode(RunLengthEncoding rle) => Encode(rle.Counts);

    /// <summary>An RLE from its size and COCO string.</summary>
    public static RunLengthEncoding Decode(int height, int width, string text) => new(height, width, Decode(text));
}
