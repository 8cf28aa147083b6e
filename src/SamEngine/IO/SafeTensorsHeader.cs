using System.Text.Json;

namespace SamEngine.IO;

/// <summary>
/// Parses and validates the JSON header of a safetensors file. Every problem becomes a
/// <see cref="SafeTensorsException"/> naming the file and, where there is one, the tensor.
/// </summary>
internal static class SafeTensorsHeader
{
    /// <summary>Headers above this size are treated as corrupt rather than read.</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private const string MetadataKey = "__metadata__";

    public static (Dictionary<string, SafeTensorInfo> Tensors, Dictionary<string, string> Metadata) Parse(
        string path, ReadOnlySpan<byte> header, long dataLength)
    {
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw SafeTensorsException.File(path, "header is not valid UTF-8");

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException e)
        {
            throw SafeTensorsException.File(path, $"header is not valid JSON ({e.Message})", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw SafeTensorsException.File(path, $"header is a JSON {doc.RootElement.ValueKind}, not an object");

            var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            bool sawMetadata = false;
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == MetadataKey)
                {
                    if (sawMetadata) throw SafeTensorsException.File(path, "duplicate __metadata__ entry");
                    sawMetadata = true;
                    ParseMetadata(path, prop.Value, metadata);
                    continue;
                }
                if (tensors.ContainsKey(prop.Name))
                    throw SafeTensorsException.Tensor(path, prop.Name, "listed twice in the header");
                tensors.Add(prop.Name, ParseEntry(path, prop.Name, prop.Value, dataLength));
            }
            CheckNoOverlap(path, tensors.Values);
            return (tensors, metadata);
        }
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw SafeTensorsException.File(path, $"__metadata__ is a JSON {value.ValueKind}, not an object of strings");
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw SafeTensorsException.File(path, $"__metadata__ value '{p.Name}' is a JSON {p.Value.ValueKind}, not a string");
            metadata[p.Name] = p.Value.GetString()!;
        }
    }

    private static SafeTensorInfo ParseEntry(string path, string name, JsonElement entry, long dataLength)
    {
        SafeTensorsException Bad(string problem) => SafeTensorsException.Tensor(path, name, problem);

        if (entry.ValueKind != JsonValueKind.Object)
            throw Bad($"header entry is a JSON {entry.ValueKind}, not an object");

        if (!entry.TryGetProperty("dtype", out var dtypeEl)) throw Bad("missing 'dtype'");
        if (dtypeEl.ValueKind != JsonValueKind.String) throw Bad($"'dtype' is a JSON {dtypeEl.ValueKind}, not a string");
        string dtypeName = dtypeEl.GetString()!;
        if (!SafeTensorDTypeExtensions.TryParseHeaderName(dtypeName, out var dtype))
            throw Bad($"unknown dtype '{dtypeName}'");

        if (!entry.TryGetProperty("shape", out var shapeEl)) throw Bad("missing 'shape'");
        if (shapeEl.ValueKind != JsonValueKind.Array) throw Bad($"'shape' is a JSON {shapeEl.ValueKind}, not an array");
        var shape = new int[shapeEl.GetArrayLength()];
        int k = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim))
                throw Bad($"'shape' entry {k} is not an integer");
            if (dim < 0) throw Bad($"negative dimension {dim} in 'shape'");
            if (dim > int.MaxValue) throw Bad($"dimension {dim} in 'shape' is too large");
            shape[k++] = (int)dim;
        }

        if (!entry.TryGetProperty("data_offsets", out var offEl)) throw Bad("missing 'data_offsets'");
        if (offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw Bad("'data_offsets' is not an array of two integers");
        var offsets = new long[2];
        for (int i = 0; i < 2; i++)
        {
            var o = offEl[i];
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out offsets[i]) || offsets[i] < 0)
                throw Bad("'data_offsets' is not an array of two non-negative integers");
        }
        long begin = offsets[0], end = offsets[1];
        if (begin > end) throw Bad($"data_offsets begin {begin} is after end {end}");
        if (end > dataLength)
            throw Bad($"data_offsets end {end} is beyond the data section of {dataLength} bytes (truncated file?)");

        long expected;
        try
        {
            expected = dtype.ElementSize();
            foreach (int d in shape) expected = checked(expected * d);
        }
        catch (OverflowException)
        {
            throw Bad($"shape {Weights.ShapeUtil.Format(shape)} is too large");
        }
        if (end - begin != expected)
            throw Bad($"holds {end - begin} bytes but shape {Weights.ShapeUtil.Format(shape)} of {dtypeName} needs {expected}");

        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    private static void CheckNoOverlap(string path, IEnumerable<SafeTensorInfo> tensors)
    {
        SafeTensorInfo? prev = null;
        // Empty tensors occupy no bytes and cannot overlap anything.
        foreach (var t in tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin))
        {
            if (prev != null && t.Begin < prev.End)
                throw SafeTensorsException.Tensor(path, t.Name,
                    $"bytes [{t.Begin}, {t.End}) overlap tensor '{prev.Name}' at [{prev.Begin}, {prev.End})");
            prev = t;
        }
    }
}
