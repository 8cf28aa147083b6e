using SamEngine.Amg;

namespace SamEngine.Tests.Amg;

public class RunLengthEncodingTests
{
    [Fact]
    public void EncodesColumnMajorStartingWithZeros()
    {
        // 2 x 3, row-major:  0 1 1
        //                    1 1 0   column-major: 0 1 | 1 1 | 1 0
        byte[] mask = [0, 1, 1, 1, 1, 0];
        var rle = RunLengthEncoding.FromMask(mask, 2, 3);
        Assert.Equal([1, 4, 1], rle.Counts);
        Assert.Equal(4, rle.Area);
    }

    [Fact]
    public void MaskStartingWithOneHasEmptyFirstRun()
    {
        Assert.Equal([0, 4], RunLengthEncoding.FromMask([1, 1, 1, 1], 2, 2).Counts);
        Assert.Equal([4], RunLengthEncoding.FromMask([0, 0, 0, 0], 2, 2).Counts);
        Assert.Equal([0, 1, 1], RunLengthEncoding.FromMask([1, 0], 2, 1).Counts);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 5, 2)]
    [InlineData(16, 33, 3)]
    [InlineData(40, 1, 4)]
    public void RoundTripsRandomMasks(int height, int width, int seed)
    {
        var random = new Random(seed);
        for (int trial = 0; trial < 20; trial++)
        {
            var mask = new byte[height * width];
            double density = random.NextDouble();
            for (int i = 0; i < mask.Length; i++) mask[i] = random.NextDouble() < density ? (byte)1 : (byte)0;
            var rle = RunLengthEncoding.FromMask(mask, height, width);
            Assert.Equal(mask, rle.ToMask());
            Assert.Equal(mask.Count(b => b != 0), rle.Area);
            Assert.Equal(height * width, rle.Counts.Sum());
            Assert.All(rle.Counts.Skip(1), c => Assert.True(c > 0));
            Assert.Equal(rle, CocoRle.Decode(height, width, CocoRle.Encode(rle)));
        }
    }

    [Fact]
    public void RejectsCountsThatDoNotCoverTheMask()
    {
        Assert.Throws<ArgumentException>(() => new RunLengthEncoding(2, 2, [1, 2]));
        Assert.Throws<ArgumentException>(() => new RunLengthEncoding(2, 2, [5, -1]));
        Assert.Throws<ArgumentException>(() => RunLengthEncoding.FromMask([1, 0, 1], 2, 2));
    }
}
