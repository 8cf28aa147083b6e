using SamEngine.Amg;

namespace SamEngine.Tests.Amg;

public class SmallRegionsTests
{
    private static void AssertResult(byte[] mask, bool changed, (byte[] Mask, bool Changed) actual)
    {
        Assert.Equal(mask, actual.Mask);
        Assert.Equal(changed, actual.Changed);
    }

    private static byte[] Parse(params string[] rows) => rows.SelectMany(r => r.Select(c => c == '#' ? (byte)1 : (byte)0)).ToArray();

    // A 6 x 7 mask: a ring with a 1-pixel hole, and a 2-pixel island touching nothing.
    private static readonly string[] RingAndIsland =
    [
        ".......",
        ".###...",
        ".#.#...",
        ".###...",
        ".....##",
        ".......",
    ];

    [Fact]
    public void FillsSmallHoles()
    {
        var (mask, changed) = SmallRegions.Remove(Parse(RingAndIsland), 6, 7, 2, SmallRegions.Mode.Holes);
        Assert.True(changed);
        Assert.Equal(Parse(".......", ".###...", ".###...", ".###...", ".....##", "......."), mask);
    }

    [Fact]
    public void RemovesSmallIslands()
    {
        var (mask, changed) = SmallRegions.Remove(Parse(RingAndIsland), 6, 7, 3, SmallRegions.Mode.Islands);
        Assert.True(changed);
        Assert.Equal(Parse(".......", ".###...", ".#.#...", ".###...", ".......", "......."), mask);
    }

    [Fact]
    public void LeavesMasksWithoutSmallRegionsAlone()
    {
        var input = Parse(RingAndIsland);
        AssertResult(input, false, SmallRegions.Remove(input, 6, 7, 1, SmallRegions.Mode.Holes));
        AssertResult(input, false, SmallRegions.Remove(input, 6, 7, 2, SmallRegions.Mode.Islands));
        var empty = new byte[42];
        AssertResult(empty, false, SmallRegions.Remove(empty, 6, 7, 100, SmallRegions.Mode.Islands));
    }

    [Fact]
    public void DiagonalPixelsAreConnected()
    {
        // Two diagonal pixels form one island of 2 (8-connectivity), which a threshold of 2 keeps.
        var input = Parse("#..", ".#.", "...");
        Assert.False(SmallRegions.Remove(input, 3, 3, 2, SmallRegions.Mode.Islands).Changed);
        // A diagonal gap does not separate the outside of a mask from a "hole".
        var ring = Parse("###", "#.#", "##.");
        Assert.False(SmallRegions.Remove(ring, 3, 3, 2, SmallRegions.Mode.Holes).Changed);
    }

    [Fact]
    public void KeepsTheLargestIslandWhenAllAreSmall()
    {
        var (mask, changed) = SmallRegions.Remove(Parse("##....", "......", "...###"), 3, 6, 10, SmallRegions.Mode.Islands);
        Assert.True(changed);
        Assert.Equal(Parse("......", "......", "...###"), mask);
        // A single small island stays, and the mask still counts as changed (as upstream).
        var single = Parse("#..", "...");
        AssertResult(single, true, SmallRegions.Remove(single, 2, 3, 10, SmallRegions.Mode.Islands));
    }

    [Fact]
    public void EqualLargestIslandsResolveToTheFirstInBlockOrder()
    {
        // OpenCV's block-based labelling scans 2 x 2 blocks: the island at (row 1, col 0) shares the first
        // block row with the one at (row 0, col 5) and comes first, though it is later in pixel order.
        var (mask, _) = SmallRegions.Remove(Parse(".....#", "#....."), 2, 6, 5, SmallRegions.Mode.Islands);
        Assert.Equal(Parse("......", "#....."), mask);
    }

    [Fact]
    public void SmallOutsideCountsAsAHole()
    {
        // The unset border region is a "hole" too when it is small, as upstream treats every unset region.
        var (mask, changed) = SmallRegions.Remove(Parse("###.", "####"), 2, 4, 2, SmallRegions.Mode.Holes);
        Assert.True(changed);
        Assert.Equal(Parse("####", "####"), mask);
    }
}
