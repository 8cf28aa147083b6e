using SamEngine.Backends;
using SamEngine.Kernels;
using SamEngine.Tests.Kernels;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends;

/// <summary>
/// The composed cross attentions dispose what they make and nothing of the caller's: on the ILGPU
/// backend (which runs them as composed) only the result is left alive.
/// </summary>
[Collection("ilgpu")]
public sealed class ComposedOpsTests
{
    private const int Batch = 2, Tokens = 3, Positions = 5, Dim = 8, Heads = 2;

    private static Parameter Param(string name, params int[] shape) => new(name, shape, GeneratedWeights.Generate(name, shape, 3));

    private static float[] Values(int n, int seed) => Enumerable.Range(0, n).Select(i => MathF.Sin(seed + i * 0.37f)).ToArray();

    [Fact]
    public void ImageToTokenAttention_with_a_shared_image_leaves_only_its_result()
    {
        using var be = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        Parameter qW = Param("q.weight", Dim, Dim), qB = Param("q.bias", Dim), outW = Param("out.weight", Dim, Dim), outB = Param("out.bias", Dim);
        using var image = be.FromHost(Values(Positions * Dim, 1), 1, Positions, Dim);
        using var k = be.FromHost(Values(Batch * Tokens * Dim, 2), Batch, Tokens, Dim);
        using var v = be.FromHost(Values(Batch * Tokens * Dim, 3), Batch, Tokens, Dim);
        int before = DeviceMemory.LiveTensors(be);
        using (var y = be.ImageToTokenAttention(image, qW, qB, k, v, Heads, outW, outB))
            Assert.Equal(before + 1, DeviceMemory.LiveTensors(be));
        Assert.Equal(before, DeviceMemory.LiveTensors(be));
        Assert.Equal(Positions * Dim, be.ToHost(image).Length); // the caller's input is still alive
    }

    [Fact]
    public void TokenToImageAttention_with_shared_keys_leaves_only_its_result()
    {
        using var be = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        Parameter kW = Param("k.weight", Dim, Dim), kB = Param("k.bias", Dim), vW = Param("v.weight", Dim, Dim), vB = Param("v.bias", Dim);
        using var q = be.FromHost(Values(Batch * Tokens * Dim, 4), Batch, Tokens, Dim);
        using var keys = be.FromHost(Values(Positions * Dim, 5), 1, Positions, Dim);
        using var values = be.FromHost(Values(Positions * Dim, 6), 1, Positions, Dim);
        int before = DeviceMemory.LiveTensors(be);
        using (var y = be.TokenToImageAttention(q, keys, kW, kB, values, vW, vB, Heads))
        {
            Assert.Equal([Batch, Tokens, Dim], y.Shape);
            Assert.Equal(before + 1, DeviceMemory.LiveTensors(be));
        }
        Assert.Equal(before, DeviceMemory.LiveTensors(be));
        Assert.Equal(Batch * Tokens * Dim, be.ToHost(q).Length); // the caller's queries are still alive
    }
}
