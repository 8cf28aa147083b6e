using SamEngine.Backends.Cpu;
using SamEngine.Config;
using SamEngine.Kernels;
using SamEngine.Modeling;
using SamEngine.Weights;

namespace SamEngine.Tests.Modeling;

/// <summary>What <see cref="SamModel.Dispose"/> releases (its own backend, the weight mapping) and what it leaves alone (a caller's backend).</summary>
[Collection("ilgpu")]
public sealed class SamModelDisposeTests() : TempDirectoryTests("samengine-dispose-")
{
    private static SamArchitecture TinyArch => SamArchitecture.FromJson(File.ReadAllText(Path.Combine(TestFixtures.Local("tiny"), "cases.json")));

    /// <summary>The tiny model under a path of this test's own, so that no other test's mapping of it shows in /proc/self/maps.</summary>
    private string TinyCopy()
    {
        string path = Path.Combine(TempDir, $"tiny-{Guid.NewGuid():N}.safetensors");
        File.Copy(Path.Combine(TestFixtures.Local("tiny"), "model.safetensors"), path);
        return path;
    }

    private static bool IsMapped(string path) => File.ReadAllText("/proc/self/maps").Contains(path, StringComparison.Ordinal);

    [Fact]
    public void A_backend_passed_in_stays_usable_after_the_model_is_disposed()
    {
        using var backend = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        SamModel.Load(TinyCopy(), TinyArch, backend).Dispose();
        using var x = backend.FromHost([1f, 2f], 2);
        Assert.Equal([1f, 2f], backend.ToHost(x));
    }

    [Fact]
    public void A_backend_passed_in_with_disposeBackend_is_disposed_with_the_model()
    {
        var backend = new CpuBackend();
        SamModel.Load(TinyCopy(), TinyArch, backend, disposeBackend: true).Dispose();
        Assert.Throws<ObjectDisposedException>(() => backend.FromHost([1f], 1));
    }

    [Fact]
    public void A_backend_the_model_made_is_disposed_with_it()
    {
        var model = SamModel.Load(TinyCopy(), TinyArch);
        var backend = model.Backend;
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => backend.FromHost([1f], 1));
    }

    [Fact]
    public void A_second_Dispose_does_nothing_and_the_parts_then_throw()
    {
        var model = SamModel.Create(TinyArch, new GeneratedWeightSource(0));
        model.Dispose();
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Backend);
        Assert.Throws<ObjectDisposedException>(() => model.ImageEncoder);
        Assert.Throws<ObjectDisposedException>(() => model.MaskDecoder);
        Assert.Throws<ObjectDisposedException>(() => model.Parameters);
        Assert.Throws<ObjectDisposedException>(() => new SamPredictor(model).SetImage(new byte[3 * 8 * 8], 8, 8));
    }

    [Fact]
    public void Dispose_unmaps_the_weight_file_and_its_parameters_then_throw()
    {
        string path = TinyCopy();
        var model = SamModel.Load(path, TinyArch);
        var weight = model.Parameters.First(p => !System.Runtime.InteropServices.MemoryMarshal.TryGetArray(p.Bits, out _));
        Assert.Equal(GeneratedWeights.Generate(weight.Name, weight.Shape, 0), weight.Bits.ToArray());
        if (OperatingSystem.IsLinux()) Assert.True(IsMapped(path), "the weights are not served from the mapping");
        model.Dispose();
        // The model and its parameter are still referenced here: only Dispose can have unmapped the file.
        if (OperatingSystem.IsLinux()) Assert.False(IsMapped(path), "the mapping outlived the model's Dispose");
        Assert.Throws<ObjectDisposedException>(() => weight.Bits.ToArray());
        Assert.Throws<ObjectDisposedException>(() => weight.ToFloat());
        GC.KeepAlive(model);
    }

    [Fact]
    public void Another_model_of_the_same_file_keeps_its_weights()
    {
        string path = TinyCopy();
        using var kept = SamModel.Load(path, TinyArch);
        SamModel.Load(path, TinyArch).Dispose();
        foreach (var p in kept.Parameters) Assert.Equal(GeneratedWeights.Generate(p.Name, p.Shape, 0), p.HalfBits);
    }

    [Fact]
    public void A_failed_load_releases_the_file_and_the_backend_it_made()
    {
        string path = TinyCopy();
        Assert.Throws<WeightException>(() => SamModel.Load(path, TinyArch with { Depth = 3 }));
        // Without a collection: only the failed load itself can have released the mapping.
        if (OperatingSystem.IsLinux()) Assert.False(IsMapped(path), "a failed load left the file mapped");
    }
}
