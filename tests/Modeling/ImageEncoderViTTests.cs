using SamEngine.Kernels;
using SamEngine.Modeling;
using SamEngine.Tests.Kernels;

namespace SamEngine.Tests.Modeling;

/// <summary>The encoder disposes every intermediate it makes: on the ILGPU backend none is left for the GC.</summary>
[Collection("ilgpu")]
public sealed class ImageEncoderViTTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Forward_leaves_no_device_tensor_alive_once_its_result_is_disposed(bool mlpOverHalves)
    {
        using var be = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
        using var model = TestFixtures.LoadModel("tiny", be);
        int s = model.Architecture.ImgSize;
        var input = Enumerable.Range(0, s * s * 3).Select(i => MathF.Sin(i * 0.01f)).ToArray();
        int before = DeviceMemory.LiveTensors(be);
        long saved = ImageEncoderViT.MlpWholeHiddenBytes;
        if (mlpOverHalves) ImageEncoderViT.MlpWholeHiddenBytes = 0; // every MLP over two halves of the tokens
        try
        {
            using var image = be.FromHost(input, 1, s, s, 3);
            using var embedding = model.ImageEncoder.Forward(be, image);
            Assert.Equal(before + 2, DeviceMemory.LiveTensors(be)); // the image and the embedding
        }
        finally
        {
            ImageEncoderViT.MlpWholeHiddenBytes = saved;
        }
        Assert.Equal(before, DeviceMemory.LiveTensors(be));
    }
}
