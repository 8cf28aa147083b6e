using System.IO.Compression;
using System.Text;

namespace SamEngine.Tests.Checkpoints;

/// <summary>Paths of the tiny fixture and scratch folders for checkpoint and CLI tests.</summary>
internal static class TestFiles
{
    public static string Tiny => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny");
    public static string TinyModel => Path.Combine(Tiny, "model.safetensors");
    public static string TinyPth => Path.Combine(Tiny, "model.pth");
    public static string TinyArch => Path.Combine(Tiny, "cases.json");
    public static string TinyImage => Path.Combine(Tiny, "image.png");

    /// <summary>A fresh empty folder under the system temp folder.</summary>
    public static string TempDir()
    {
        string d = Path.Combine(Path.GetTempPath(), "samengine-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>Writes a torch.save-style zip: <c>archive/data.pkl</c> and the given storages.</summary>
    public static string TorchZip(string dir, byte[] pickle, params (string Key, byte[] Data)[] storages)
    {
        string path = Path.Combine(dir, "handmade.pth");
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            s.Write(data);
        }
        Add("archive/data.pkl", pickle);
        Add("archive/byteorder", Encoding.ASCII.GetBytes("little"));
        foreach (var (key, data) in storages) Add($"archive/data/{key}", data);
        return path;
    }
}

/// <summary>Writes pickle opcodes by hand, to build state dicts (and hostile pickles) without Python.</summary>
internal sealed class PickleBuilder
{
    private readonly MemoryStream _s = new();

    public PickleBuilder() => Op(0x80).Byte(2); // PROTO 2

    public PickleBuilder Op(byte op) { _s.WriteByte(op); return this; }
    public PickleBuilder Byte(byte b) { _s.WriteByte(b); return this; }
    public PickleBuilder Global(string module, string name) { Op((byte)'c'); _s.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n")); return this; }
    public PickleBuilder Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        Op(0x58); _s.Write(BitConverter.GetBytes(b.Length)); _s.Write(b);
        return this;
    }
    public PickleBuilder Int(int v) { Op(0x4A); _s.Write(BitConverter.GetBytes(v)); return this; }
    /// <summary>A 64-bit integer as LONG1 (eight two's-complement bytes), for values beyond int.</summary>
    public PickleBuilder Long(long v) { Op(0x8A).Byte(8); _s.Write(BitConverter.GetBytes(v)); return this; }
    public PickleBuilder Mark() => Op(0x28);
    public PickleBuilder Tuple() => Op(0x74);
    /// <summary>An integer in the shortest of BININT or LONG1 that holds it.</summary>
    public PickleBuilder Integer(long v) => v is >= int.MinValue and <= int.MaxValue ? Int((int)v) : Long(v);
    public PickleBuilder IntTuple(params long[] v) { Mark(); foreach (long x in v) Integer(x); return Tuple(); }

    /// <summary>A _rebuild_tensor_v2 call over a <paramref name="storage"/> (FloatStorage by default) with key <paramref name="key"/>.</summary>
    public PickleBuilder Tensor(string key, long numel, long offset, long[] shape, long[] stride, string storage = "FloatStorage")
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        Mark();
        Mark().Str("storage").Global("torch", storage).Str(key).Str("cpu").Integer(numel).Tuple().Op(0x51); // BINPERSID
        Integer(offset).IntTuple(shape).IntTuple(stride).Op(0x89); // NEWFALSE
        Global("collections", "OrderedDict").Op(0x29).Op(0x52); // OrderedDict()
        Tuple();
        return Op(0x52); // REDUCE
    }

    /// <summary>An OrderedDict of the given entries, then STOP.</summary>
    public static byte[] StateDict(params (string Name, Action<PickleBuilder> Value)[] entries)
    {
        var p = new PickleBuilder();
        p.Global("collections", "OrderedDict").Op(0x29).Op(0x52).Mark();
        foreach (var (name, value) in entries) { p.Str(name); value(p); }
        return p.Op(0x75).Op(0x2E).ToArray(); // SETITEMS, STOP
    }

    public byte[] ToArray() => _s.ToArray();
}
