using SamEngine.Checkpoints;

namespace SamEngine.Tests.Checkpoints;

/// <summary>Both checkpoint readers tolerate a second Dispose and refuse reads after the first.</summary>
public sealed class CheckpointTensorsTests
{
    [Theory]
    [InlineData("model.pth")]
    [InlineData("model.safetensors")]
    public void Reading_after_Dispose_throws_and_a_second_Dispose_does_nothing(string file)
    {
        var reader = CheckpointReader.Open(Path.Combine(TestFixtures.Local("tiny"), file));
        var first = reader.Tensors[0];
        Assert.NotEmpty(reader.ReadBytes(first));
        reader.Dispose();
        reader.Dispose();
        Assert.Throws<ObjectDisposedException>(() => reader.ReadBytes(first));
    }
}
