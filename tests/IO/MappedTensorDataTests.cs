using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SamEngine.IO;

namespace SamEngine.Tests.IO;

/// <summary>F16 tensors served in place from the file's mapping, and how long that memory lives.</summary>
public sealed class MappedTensorDataTests() : TempDirectoryTests("samengine-map-")
{
    private static ushort[] Bits(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (ushort)rng.Next(0x10000)).ToArray();
    }

    private string Write(string name, Action<SafeTensorsWriter> add)
    {
        var w = new SafeTensorsWriter();
        add(w);
        string path = Path.Combine(TempDir, name);
        w.Write(path);
        return path;
    }

    private static bool IsArray(ReadOnlyMemory<ushort> m) => MemoryMarshal.TryGetArray(m, out _);

    [Fact]
    public void AlignedF16IsServedInPlaceWithTheStoredBits()
    {
        ushort[] a = Bits(3, 1), b = Bits(4097, 2);
        using var f = SafeTensorsFile.Open(Write("f16.safetensors", w => { w.AddHalf("a", [3], a); w.AddHalf("b", [17, 241], b); }));
        Assert.Equal(6, f.Info("b").Begin); // even: aligned, since the header is padded to 8 bytes
        var got = f.ReadHalfBits("b");
        Assert.False(IsArray(got));
        Assert.Equal(b, got.ToArray());
        Assert.Equal(a, f.ReadHalfBits("a").ToArray());
        using var pin = got.Pin();
        unsafe { Assert.Equal(b[0], *(ushort*)pin.Pointer); }
    }

    [Fact]
    public void MisalignedF16IsCopied()
    {
        ushort[] b = Bits(5, 3);
        using var f = SafeTensorsFile.Open(Write("odd.safetensors", w => { w.AddUInt8("a", [3], [1, 2, 3]); w.AddHalf("b", [5], b); }));
        Assert.Equal(3, f.Info("b").Begin);
        var got = f.ReadHalfBits("b");
        Assert.True(IsArray(got));
        Assert.Equal(b, got.ToArray());
    }

    [Fact]
    public void EmptyDataSectionNeedsNoMapping()
    {
        using var f = SafeTensorsFile.Open(Write("empty.safetensors", w => w.AddHalf("e", [0, 4], [])));
        Assert.Equal(0, f.Info("e").ByteLength);
        Assert.Equal(0, f.ReadHalfBits("e").Length);
    }

    [Fact]
    public void ReadingAfterDisposeThrows()
    {
        var f = SafeTensorsFile.Open(Write("closed.safetensors", w => w.AddHalf("x", [2], [1, 2])));
        f.Dispose();
        Assert.Throws<ObjectDisposedException>(() => f.ReadHalfBits("x"));
    }

    private static bool IsMapped(string path) => File.ReadAllText("/proc/self/maps").Contains(path, StringComparison.Ordinal);

    private static void CollectEverything()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    [Fact]
    public void DisposingTheFileUnmapsItAndItsMemoryThrows()
    {
        ushort[] x = Bits(100_000, 4);
        string path = Write("disposed.safetensors", w => w.AddHalf("x", [100_000], x));
        var f = SafeTensorsFile.Open(path);
        var got = f.ReadHalfBits("x");
        Assert.Equal(x, got.ToArray());
        f.Dispose();
        f.Dispose(); // a second time does nothing
        if (OperatingSystem.IsLinux()) Assert.False(IsMapped(path), "the mapping outlived the file's Dispose");
        // The memory is still referenced here: reading it must throw, not touch the unmapped pages.
        Assert.Throws<ObjectDisposedException>(() => got.Span[0]);
        Assert.Throws<ObjectDisposedException>(() => got.ToArray());
        Assert.Throws<ObjectDisposedException>(() => got.Pin().Dispose());
    }

    [Fact]
    public unsafe void APinnedPointerKeepsThePagesUntilUnpinned()
    {
        ushort[] x = Bits(4096, 6);
        string path = Write("pinned.safetensors", w => w.AddHalf("x", [4096], x));
        var f = SafeTensorsFile.Open(path);
        var pin = f.ReadHalfBits("x").Pin();
        f.Dispose();
        Assert.Equal(x[4095], ((ushort*)pin.Pointer)[4095]); // still mapped: no fault
        if (OperatingSystem.IsLinux()) Assert.True(IsMapped(path), "unmapped while pinned");
        pin.Dispose();
        if (OperatingSystem.IsLinux()) Assert.False(IsMapped(path), "the last unpin did not unmap");
    }

    // Not inlined, so that nothing but the returned memory references the file or its mapping.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ReadOnlyMemory<ushort> ReadWithoutDisposing(string path, string name) => SafeTensorsFile.Open(path).ReadHalfBits(name);

    // A frame of its own, so that no stack slot of the caller still holds the memory afterwards.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ReadCollectAndDrop(string path, ushort[] expected)
    {
        var got = ReadWithoutDisposing(path, "x");
        CollectEverything();
        Assert.True(IsMapped(path), "the memory no longer references the mapping");
        Assert.Equal(expected, got.ToArray());
    }

    [Fact]
    public void AFileNeverDisposedStaysMappedWhileReferencedAndIsReleasedOnceNot()
    {
        if (!OperatingSystem.IsLinux()) return; // reads /proc/self/maps
        ushort[] x = Bits(8, 5);
        string path = Write("released.safetensors", w => w.AddHalf("x", [8], x));
        ReadCollectAndDrop(path, x);
        CollectEverything();
        Assert.False(IsMapped(path), "the mapping outlived every reference to it");
    }
}
