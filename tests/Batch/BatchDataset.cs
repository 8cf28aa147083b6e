using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Tests.Batch;

/// <summary>Small generated datasets for the batch tests: photos of coloured rectangles (so the tiny model finds masks), one corrupt file if asked.</summary>
internal static class BatchDataset
{
    /// <summary>Writes <paramref name="count"/> PNGs (some in a subfolder) and optionally <c>broken.jpg</c> under <paramref name="dir"/>; returns their keys, sorted.</summary>
    public static List<string> Write(string dir, int count, bool corrupt = false)
    {
        var keys = new List<string>();
        for (int i = 0; i < count; i++)
        {
            string key = i % 3 == 2 ? $"sub/img{i:D2}.png" : $"img{i:D2}.png";
            string path = Path.Combine(dir, key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var image = Rectangles(40 + 7 * (i % 5), 56 + 5 * (i % 4), seed: i);
            image.SaveAsPng(path);
            keys.Add(key);
        }
        if (corrupt)
        {
            File.WriteAllBytes(Path.Combine(dir, "broken.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
            keys.Add("broken.jpg");
        }
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    private static Image<Rgb24> Rectangles(int height, int width, int seed)
    {
        var random = new Random(seed);
        var image = new Image<Rgb24>(width, height, new Rgb24(20, 20, 20));
        for (int r = 0; r < 4; r++)
        {
            int x0 = random.Next(width - 8), y0 = random.Next(height - 8), w = random.Next(6, width - x0), h = random.Next(6, height - y0);
            var colour = new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
            for (int y = y0; y < y0 + h; y++)
                for (int x = x0; x < x0 + w; x++) image[x, y] = colour;
        }
        return image;
    }

    /// <summary>Every file under <paramref name="dir"/> but the manifest (whose seconds differ run to run), by relative path.</summary>
    public static SortedDictionary<string, byte[]> Outputs(string dir) =>
        new(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "manifest.jsonl")
            .ToDictionary(f => Path.GetRelativePath(dir, f).Replace('\\', '/'), File.ReadAllBytes), StringComparer.Ordinal);

    /// <summary>The manifest's last line per image, without the seconds: (image, status, output, masks, error).</summary>
    public static List<string> Manifest(string dir) =>
        SamEngine.Batch.Manifest.Read(Path.Combine(dir, "manifest.jsonl")).Values.OrderBy(e => e.Image, StringComparer.Ordinal)
            .Select(e => $"{e.Image} {e.Status} {e.Output} {e.Masks} {e.Error}").ToList();
}
