using System.Text.Json;
using SamEngine.Imaging;

namespace SamEngine.Evaluation;

/// <summary>
/// A set of scenes with true instance masks, read from a <c>manifest.json</c>:
/// <c>{"recipe", "seed", "scenes": [{"image", "width", "height", "objects": [{"mask", "kind", "area",
/// "point": [x, y], "box": [x0, y0, x1, y1]}]}]}</c>. Files are relative to the manifest's folder; images
/// are RGB, masks 8-bit gray (255 = object). <c>point</c> is an integer pixel inside the object (the one
/// farthest from its boundary), <c>box</c> its inclusive pixel bounds.
/// </summary>
/// <param name="Recipe">How the scenes were made (free text).</param>
/// <param name="Seed">The seed they were made with.</param>
/// <param name="Scenes">The scenes, in order.</param>
internal sealed record EvalSet(string Recipe, long Seed, IReadOnlyList<EvalScene> Scenes)
{
    /// <summary>Reads <paramref name="manifestPath"/>; an <see cref="InvalidDataException"/> names any malformed field.</summary>
    public static EvalSet Load(string manifestPath)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
        using var doc = JsonDocument.Parse(File.ReadAllText(manifestPath));
        var root = doc.RootElement;
        var scenes = Items(root, "scenes", manifestPath).Select((s, i) => Scene(s, dir, $"{manifestPath}: scene {i}")).ToList();
        return new EvalSet(Text(root, "recipe", manifestPath), Property(root, "seed", manifestPath).GetInt64(), scenes);
    }

    private static EvalScene Scene(JsonElement s, string dir, string where)
    {
        int width = Int(s, "width", where), height = Int(s, "height", where);
        var objects = Items(s, "objects", where).Select((o, j) =>
        {
            string at = $"{where} object {j}";
            var point = Ints(o, "point", 2, at);
            var box = Ints(o, "box", 4, at);
            if (point[0] < 0 || point[0] >= width || point[1] < 0 || point[1] >= height) throw new InvalidDataException($"{at}: point outside the {width} x {height} image");
            if (box[0] > box[2] || box[1] > box[3] || box[0] < 0 || box[1] < 0 || box[2] >= width || box[3] >= height)
                throw new InvalidDataException($"{at}: box [{string.Join(", ", box)}] is not inclusive bounds inside the {width} x {height} image");
            return new EvalObject(Path.GetFullPath(Path.Combine(dir, Text(o, "mask", at))), Text(o, "kind", at), Int(o, "area", at), (point[0], point[1]), box);
        }).ToList();
        return new EvalScene(Path.GetFullPath(Path.Combine(dir, Text(s, "image", where))), width, height, objects);
    }

    private static JsonElement Property(JsonElement e, string name, string where) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : throw new InvalidDataException($"{where}: no '{name}'");

    private static string Text(JsonElement e, string name, string where) =>
        Property(e, name, where) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : throw new InvalidDataException($"{where}: '{name}' is not a string");

    private static int Int(JsonElement e, string name, string where) =>
        Property(e, name, where) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out int i) && i >= 0 ? i
        : throw new InvalidDataException($"{where}: '{name}' is not a whole number >= 0");

    private static IEnumerable<JsonElement> Items(JsonElement e, string name, string where) =>
        Property(e, name, where) is { ValueKind: JsonValueKind.Array } v ? v.EnumerateArray().ToList() : throw new InvalidDataException($"{where}: '{name}' is not an array");

    private static int[] Ints(JsonElement e, string name, int count, string where)
    {
        var values = Items(e, name, where).Select(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : int.MinValue).ToArray();
        return values.Length == count && !values.Contains(int.MinValue) ? values
            : throw new InvalidDataException($"{where}: '{name}' is not {count} whole numbers");
    }
}

/// <summary>One image of an <see cref="EvalSet"/> and its objects.</summary>
/// <param name="ImagePath">The RGB image.</param>
/// <param name="Width">Its width in pixels.</param>
/// <param name="Height">Its height in pixels.</param>
/// <param name="Objects">The objects with true masks.</param>
internal sealed record EvalScene(string ImagePath, int Width, int Height, IReadOnlyList<EvalObject> Objects)
{
    /// <summary>The image, checked to be <see cref="Width"/> x <see cref="Height"/>.</summary>
    public RgbImage LoadImage()
    {
        var image = ImageLoader.Load(ImagePath);
        return (image.Width, image.Height) == (Width, Height) ? image
            : throw new InvalidDataException($"'{ImagePath}' is {image.Width} x {image.Height}, the manifest says {Width} x {Height}");
    }
}

/// <summary>One object of an <see cref="EvalScene"/>: its true mask and the prompts that pick it.</summary>
/// <param name="MaskPath">The true mask (8-bit gray PNG, 255 = object).</param>
/// <param name="Kind">What it is (house, ring, ...).</param>
/// <param name="Area">Its pixels.</param>
/// <param name="Point">An integer pixel inside it, farthest from its boundary.</param>
/// <param name="Box">Its inclusive pixel bounds [x0, y0, x1, y1].</param>
internal sealed record EvalObject(string MaskPath, string Kind, int Area, (int X, int Y) Point, int[] Box)
{
    /// <summary>The click at <see cref="Point"/>: the centre of that pixel, as SAM's coordinates count.</summary>
    public (float X, float Y, int Label) Click => (Point.X + 0.5f, Point.Y + 0.5f, 1);

    /// <summary><see cref="Box"/> as SAM's box prompt: the pixels' outer edges, x1 and y1 exclusive.</summary>
    public float[] BoxPrompt => [Box[0], Box[1], Box[2] + 1, Box[3] + 1];

    /// <summary>The true mask as H x W bytes, 1 = object, checked against the scene's size and <see cref="Area"/>.</summary>
    public byte[] LoadMask(EvalScene scene)
    {
        // Through the photo loader (gray becomes R = G = B): one decoder for every PNG the engine reads.
        var image = ImageLoader.Load(MaskPath);
        if ((image.Width, image.Height) != (scene.Width, scene.Height))
            throw new InvalidDataException($"mask '{MaskPath}' is {image.Width} x {image.Height}, its scene {scene.Width} x {scene.Height}");
        var mask = new byte[image.Width * image.Height];
        for (int i = 0; i < mask.Length; i++) mask[i] = image.Pixels[3 * i] >= 128 ? (byte)1 : (byte)0;
        int area = mask.AsSpan().Count((byte)1);
        return area == Area && area > 0 ? mask
            : throw new InvalidDataException($"mask '{MaskPath}' has {area} object pixels, the manifest says {Area}");
    }
}
