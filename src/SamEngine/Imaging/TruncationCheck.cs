using System.Buffers.Binary;

namespace SamEngine.Imaging;

/// <summary>
/// Finds JPEG and PNG files cut short. ImageSharp decodes them without complaint, filling the missing
/// rows with grey; Pillow refuses them ("image file is truncated"), and so do we. A file is complete
/// when its structure reaches the end marker: a JPEG's EOI (after every segment and entropy-coded scan),
/// a PNG's whole IEND chunk. Bytes after the end marker are ignored, as Pillow ignores them.
/// </summary>
internal static class TruncationCheck
{
    /// <summary>Why the JPEG in <paramref name="stream"/> (from its position) is truncated, or null when it is not.</summary>
    public static string? Jpeg(Stream stream)
    {
        if (stream.ReadByte() != 0xFF || stream.ReadByte() != 0xD8) return null; // not a JPEG start: the decoder's to judge
        while (true)
        {
            int marker = NextMarker(stream);
            if (marker < 0) return "the JPEG data ends before its end-of-image marker";
            if (marker == 0xD9) return null; // EOI
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) continue; // TEM, RSTn: no length
            int hi = stream.ReadByte(), lo = stream.ReadByte();
            if (lo < 0) return "the JPEG data ends inside a segment header";
            int length = (hi << 8) | lo; // counts its own two bytes
            if (length < 2 || stream.Position + length - 2 > stream.Length) return "the JPEG data ends inside a segment";
            stream.Seek(length - 2, SeekOrigin.Current);
            // After a start-of-scan header, NextMarker skips the entropy-coded data: inside it 0xFF is
            // followed by 0x00 (a stuffed byte) or a restart marker, never by another marker.
        }
    }

    /// <summary>
    /// The next marker code after the current position: skips bytes up to a 0xFF that is followed by a
    /// code other than 0x00 (byte stuffing), RSTn inside a scan included; fill bytes (0xFF 0xFF) are
    /// skipped too. Returns -1 at the end of the stream.
    /// </summary>
    private static int NextMarker(Stream stream)
    {
        int b = stream.ReadByte();
        while (true)
        {
            while (b >= 0 && b != 0xFF) b = stream.ReadByte();
            if (b < 0) return -1;
            do b = stream.ReadByte(); while (b == 0xFF);
            if (b < 0) return -1;
            if (b is not 0x00 and not (>= 0xD0 and <= 0xD7)) return b;
            b = stream.ReadByte(); // stuffed byte or restart marker inside a scan: keep scanning
        }
    }

    /// <summary>Why the PNG in <paramref name="stream"/> (from its position) is truncated, or null when it is not.</summary>
    public static string? Png(Stream stream)
    {
        Span<byte> header = stackalloc byte[8];
        if (stream.ReadAtLeast(header, 8, throwOnEndOfStream: false) < 8) return "the PNG data ends inside its signature";
        while (true)
        {
            int read = stream.ReadAtLeast(header, 8, throwOnEndOfStream: false);
            if (read < 8) return "the PNG data ends before its IEND chunk";
            long length = BinaryPrimitives.ReadUInt32BigEndian(header);
            if (stream.Position + length + 4 > stream.Length) // data and CRC
                return $"the PNG data ends inside its '{System.Text.Encoding.ASCII.GetString(header[4..])}' chunk";
            if (header[4..].SequenceEqual("IEND"u8)) return null;
            stream.Seek(length + 4, SeekOrigin.Current);
        }
    }
}
