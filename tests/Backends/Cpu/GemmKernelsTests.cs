using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using SamEngine.Backends.Cpu;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>
/// How the GEMM and attention pick their SIMD path: the widest the CPU accelerates, AdvSimd's
/// 128-bit kernels on Arm64, and any supported path when a test or benchmark forces it.
/// </summary>
public class GemmKernelsTests
{
    [Fact]
    public void BestIsTheWidestAcceleratedPath()
    {
        var expected = Vector512.IsHardwareAccelerated ? SimdPath.Vector512
            : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
            : Vector128.IsHardwareAccelerated ? SimdPath.Vector128 : SimdPath.Portable;
        Assert.Equal(expected, GemmKernels.Best);
        Assert.True(GemmKernels.IsSupported(GemmKernels.Best));
    }

    [Fact]
    public void Arm64PicksTheAdvSimdKernels()
    {
        // Arm64 has no 256-bit vectors, so AdvSimd's 128-bit path is the widest; run under qemu by
        // tools/arm64/publish-and-test.sh through `samengine info`. On x86 the path is wider.
        if (AdvSimd.Arm64.IsSupported)
        {
            Assert.Equal(SimdPath.Vector128, GemmKernels.Best);
            using var cpu = new CpuBackend();
            Assert.Contains("AdvSimd", cpu.Device);
        }
        else if (Vector256.IsHardwareAccelerated) Assert.NotEqual(SimdPath.Vector128, GemmKernels.Best); // the wider x86 paths win
    }

    [Fact]
    public void ForcingVector128SelectsItOnThisThreadOnly()
    {
        Assert.True(GemmKernels.IsSupported(SimdPath.Vector128), "every x86-64 and Arm64 CPU accelerates 128-bit vectors");
        var saved = Gemm.ForcedPath;
        try
        {
            Gemm.ForcedPath = SimdPath.Vector128;
            Assert.Equal(SimdPath.Vector128, Gemm.ActivePath);
            Assert.Equal((8, 8), GemmKernels.Tile(SimdPath.Vector128));
            using var cpu = new CpuBackend();
            Assert.EndsWith("Vector128 kernels", cpu.Device);
            SimdPath other = SimdPath.Portable;
            var t = new Thread(() => other = Gemm.ActivePath);
            t.Start();
            t.Join();
            Assert.Equal(GemmKernels.Best, other);
        }
        finally { Gemm.ForcedPath = saved; }
        Assert.Equal(saved ?? GemmKernels.Best, Gemm.ActivePath);
    }

    [Fact]
    public void EveryPathHasTwoVectorsPerTileRow()
    {
        // The attention takes a query panel as two vectors of the path's width.
        var lanes = new Dictionary<SimdPath, int>
        {
            [SimdPath.Portable] = System.Numerics.Vector<float>.Count, [SimdPath.Vector128] = 4,
            [SimdPath.Vector256] = 8, [SimdPath.Vector512] = 16,
        };
        foreach (var path in Enum.GetValues<SimdPath>()) Assert.Equal(2 * lanes[path], GemmKernels.Tile(path).Nr);
    }
}
