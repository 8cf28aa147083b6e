using System.Buffers.Binary;
using System.Text.Json;

namespace SamEngine.Tests.Processing;

/// <summary>
/// Minimal safetensors reader for the fixture tests (F32, F16, U8). Temporary: to be replaced by
/// SamEngine.IO.SafeTensorsFile.
/// </summary>
internal sealed class FixtureReader
{
    readonly byte[] _raw;
    readonly int _dataStart;
    readonly Dictionary<string, (string Dtype, int[] Shape, int Begin, int End)> _entries = new();

    public FixtureReader(string path)
    {
        _raw = File.ReadAllBytes(path);
        int headerLen = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(_raw));
        _dataStart = 8 + headerLen;
        using var doc = JsonDocument.Parse(_raw.AsMemory(8, headerLen));
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__") continue;
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var offsets = p.Value.GetProperty("data_offsets");
            _entries[p.Name] = (p.Value.GetProperty("dtype").GetString()!, shape,
                offsets[0].GetInt32(), offsets[1].GetInt32());
        }
    }

    /// <summary>Fixture directory for a config name, e.g. "tiny" (copied next to the test binaries).</summary>
    public static string Dir(string config) => Path.Combine(AppContext.BaseDirectory, "fixtures", config);

    public static FixtureReader Open(string config) => new(Path.Combine(Dir(config), "reference.safetensors"));

    public bool Contains(string name) => _entries.ContainsKey(name);

    public int[] Shape(string name) => _entries[name].Shape;

    /// <summary>F32 or F16 tensor as float32.</summary>
    public float[] Floats(string name)
    {
        var (dtype, _, begin, end) = _entries[name];
        var bytes = _raw.AsSpan(_dataStart + begin, end - begin);
        return dtype switch
        {
            "F32" => ToFloats32(bytes),
            "F16" => ToFloats16(bytes),
            _ => throw new InvalidDataException($"{name}: dtype {dtype} is not F32/F16"),
        };
    }

    /// <summary>U8 tensor.</summary>
    public byte[] Bytes(string name)
    {
        var (dtype, _, begin, end) = _entries[name];
        if (dtype != "U8") throw new InvalidDataException($"{name}: dtype {dtype} is not U8");
        return _raw.AsSpan(_dataStart + begin, end - begin).ToArray();
    }

    static float[] ToFloats32(ReadOnlySpan<byte> bytes)
    {
        var result = new float[bytes.Length / 4];
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * 4));
        return result;
    }

    static float[] ToFloats16(ReadOnlySpan<byte> bytes)
    {
        var result = new float[bytes.Length / 2];
        for (int i = 0; i < result.Length; i++)
            result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(i * 2));
        return result;
    }
}
