using SamEngine.Kernels;
using SamEngine.Tests.Kernels;

namespace SamEngine.Tests.Modeling;

/// <summary>The prompt encoder's mask path disposes every intermediate it makes: on the ILGPU backend none is left for the GC.</summary>
[Collection("ilgpu")]
public sealed class PromptEncoderTests
{
    [Fact]
    public void EmbedMask_leaves_no_device_tensor_alive_once_its_result_is_disposed()
    {
        using var be = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        using var model = TestFixtures.LoadModel("tiny", be);
        int low = model.Architecture.LowResSize;
        var logits = Enumerable.Range(0, 2 * low * low).Select(i => MathF.Cos(i * 0.1f)).ToArray();
        int before = DeviceMemory.LiveTensors(be);
        using (var masks = be.FromHost(logits, 2, low, low))
        using (var dense = model.PromptEncoder.EmbedMask(be, masks))
            Assert.Equal(before + 2, DeviceMemory.LiveTensors(be)); // the masks and their embedding
        Assert.Equal(before, DeviceMemory.LiveTensors(be));
    }
}
