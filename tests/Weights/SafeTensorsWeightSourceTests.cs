using SamEngine.IO;
using SamEngine.Tests.IO;
using SamEngine.Weights;

namespace SamEngine.Tests.Weights;

/// <summary>Checkpoint loading through <see cref="SafeTensorsWeightSource"/>.</summary>
public sealed class SafeTensorsWeightSourceTests() : TempDirectoryTests("samengine-sws-")
{
    private string Checkpoint()
    {
        var w = new SafeTensorsWriter();
        w.AddFloat32("a.weight", [2, 2], [1f / 3f, -2.5f, 65520f, 1e-8f]);
        w.Add("b.bias", SafeTensorDType.BF16, [1], [0x80, 0x3F]); // 1.0
        w.Add("steps", SafeTensorDType.I64, [1], new byte[8]);
        string path = Path.Combine(TempDir, "ckpt.safetensors");
        w.Write(path);
        return path;
    }

    [Fact]
    public void ConvertsFloatTensorsToHalf()
    {
        using var src = SafeTensorsWeightSource.Open(Checkpoint());
        var a = src.Get("a.weight", [2, 2]);
        // 65520 rounds to infinity in fp16, 1e-8 to zero: round to nearest even, as torch's .half() does.
        Assert.Equal([(ushort)0x3555, 0xC100, 0x7C00, 0x0000], a.HalfBits.ToArray());
        Assert.Equal([1f], src.Get("b.bias", [1]).ToFloat());
        Assert.Equal(["a.weight", "b.bias", "steps"], src.Names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ErrorsNameTheTensor()
    {
        using var src = SafeTensorsWeightSource.Open(Checkpoint());
        Assert.Equal("missing tensor 'c.weight'", Assert.Throws<WeightException>(() => src.Get("c.weight", [1])).Message);
        Assert.Equal("tensor 'a.weight' has shape [2, 2] but the architecture needs [4]",
            Assert.Throws<WeightException>(() => src.Get("a.weight", [4])).Message);
        var e = Assert.Throws<WeightException>(() => src.Get("steps", [1]));
        Assert.Contains("'steps'", e.Message);
        Assert.Contains("I64", e.Message);
    }

    // Not inlined, so that only the returned parameters reference the file's mapping.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Parameter[] LoadAndDispose(string path, params string[] names)
    {
        using var src = SafeTensorsWeightSource.Open(path);
        return names.Select(n => src.Get(n, src.File.Info(n).Shape)).ToArray();
    }

    [Fact]
    public void MappedParametersThrowOnceTheSourceIsDisposedAndConvertedOnesStayValid()
    {
        var w = new SafeTensorsWriter();
        ushort[] half = Enumerable.Range(0, 70_000).Select(i => (ushort)(i * 7919)).ToArray();
        w.AddHalf("h.weight", [350, 200], half);
        w.AddFloat32("f.bias", [2], [1f, -2.5f]);
        string path = Path.Combine(TempDir, "mixed.safetensors");
        w.Write(path);

        var ps = LoadAndDispose(path, "h.weight", "f.bias");
        // F16 is served from the mapping, which the source's Dispose released: no read of unmapped pages.
        Assert.Throws<ObjectDisposedException>(() => ps[0].Bits.ToArray());
        // F32 was converted into an array of its own.
        Assert.Equal([(ushort)0x3C00, 0xC100], ps[1].HalfBits.ToArray());
    }

    [Fact]
    public void ShippedModelMatchesTheGenerator()
    {
        using var src = SafeTensorsWeightSource.Open(SafeTensorsTests.Fixture("tiny", "model.safetensors"));
        foreach (var info in src.File.Tensors.Values)
            Assert.Equal(GeneratedWeights.Generate(info.Name, info.Shape, 0), src.Get(info.Name, info.Shape).HalfBits);
    }
}
