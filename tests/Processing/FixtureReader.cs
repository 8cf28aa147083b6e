using SamEngine.IO;

namespace SamEngine.Tests.Processing;

/// <summary>The processing tests' view of a fixture's reference tensors, over the engine's own reader.</summary>
internal sealed class FixtureReader
{
    private readonly string _path;

    private FixtureReader(string path) => _path = path;

    /// <summary>Fixture directory for a config name, e.g. "tiny" (copied next to the test binaries).</summary>
    public static string Dir(string config) => TestFixtures.Local(config);

    public static FixtureReader Open(string config) => new(Path.Combine(Dir(config), "reference.safetensors"));

    private T With<T>(Func<SafeTensorsFile, T> read)
    {
        using var f = SafeTensorsFile.Open(_path);
        return read(f);
    }

    public bool Contains(string name) => With(f => f.Contains(name));

    public int[] Shape(string name) => With(f => f.Info(name).Shape);

    /// <summary>F32 or F16 tensor as float32.</summary>
    public float[] Floats(string name) => With(f => f.ReadFloat32(name));

    /// <summary>U8 tensor.</summary>
    public byte[] Bytes(string name) => With(f => f.ReadUInt8(name));
}
