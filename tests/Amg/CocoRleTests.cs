using SamEngine.Amg;

namespace SamEngine.Tests.Amg;

/// <summary>Hand-worked cases of pycocotools' string encoding (rleToString).</summary>
public class CocoRleTests
{
    [Theory]
    [InlineData(new[] { 4 }, "4")]             // one 5-bit group: '0' + 4
    [InlineData(new[] { 0, 4 }, "04")]
    [InlineData(new[] { 1, 2, 1 }, "121")]     // the third count is not a delta yet
    [InlineData(new[] { 15 }, "?")]            // 15 = 0b01111, sign bit clear: one group
    [InlineData(new[] { 16 }, "`0")]           // 16 sets the group's sign bit: 16|0x20 = 48 -> '`', then '0'
    [InlineData(new[] { 100 }, "T3")]          // 100 = 3·32 + 4: (4|0x20)+48 = 'T', then '3'
    [InlineData(new[] { 5, 3, 5, 1 }, "535N")] // 1 - 3 = -2: 0b11110 with the sign bit, 30 + 48 = 'N'
    [InlineData(new[] { 5, 3, 5, 7 }, "5354")] // 7 - 3 = 4
    public void EncodesAsPycocotools(int[] counts, string expected)
    {
        Assert.Equal(expected, CocoRle.Encode(counts));
        Assert.Equal(counts, CocoRle.Decode(expected));
    }

    [Fact]
    public void LargeCountsUseSeveralGroups()
    {
        // 60000 = 0b1110101001100000: groups (low first) 00000, 10011, 11010, 1 (more than 5 bits: 0x20 set on all but the last).
        // 00000 -> 0|0x20 = 32 -> 'P'; 10011 = 19 -> 19|0x20 = 51 -> 'c'; 11010 = 26 -> 26|0x20 = 58 -> 'j';
        // last 1: sign bit clear and nothing left -> 1 -> '1'.
        Assert.Equal("Pcj1", CocoRle.Encode([60000]));
        Assert.Equal([60000], CocoRle.Decode("Pcj1"));
    }

    [Fact]
    public void RejectsMalformedStrings()
    {
        Assert.Throws<FormatException>(() => CocoRle.Decode("P"));      // ends inside a count
        Assert.Throws<FormatException>(() => CocoRle.Decode("0 4"));    // invalid character
        Assert.Throws<FormatException>(() => CocoRle.Decode("N"));      // a negative first count
    }
}
