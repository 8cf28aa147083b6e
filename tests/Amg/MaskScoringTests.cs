using SamEngine.Amg;

namespace SamEngine.Tests.Amg;

public class MaskScoringTests
{
    [Fact]
    public void StabilityIsTheRatioOfCountsAboveTheShiftedCutoffs()
    {
        float[] logits = [2f, 0.5f, -0.5f, -2f, 0.02f, 1.5f]; // > 1: 2 values; > -1: 5 values
        Assert.Equal(0.4f, MaskScoring.StabilityScore(logits, 2, 3, 0.0, 1.0));
        Assert.Equal(1f, MaskScoring.StabilityScore(logits, 2, 3, 0.0, 0.01)); // > 0.01 and > -0.01 agree
        Assert.Equal(3f / 4, MaskScoring.StabilityScore(logits, 2, 3, 0.0, 0.1)); // > 0.1: 3, > -0.1: 4
    }

    [Fact]
    public void CutoffIsStrict() => Assert.Equal(1f / 3, MaskScoring.StabilityScore([1.5f, 1f, 0.5f], 1, 3, 0.0, 1.0)); // 1 is not > 1

    [Fact]
    public void EmptyMasksGiveNaN() => Assert.True(float.IsNaN(MaskScoring.StabilityScore([-5f, -5f], 1, 2, 0.0, 1.0)));

    [Fact]
    public void RowsAreCountedInInt16AsUpstream()
    {
        // One row of 40000: 30000 above both cutoffs, the rest above the low one only. The low count
        // 40000 wraps to 40000 - 65536 in int16, as torch's sum(dtype=int16) does.
        var logits = new float[40000];
        Array.Fill(logits, 2f, 0, 30000);
        Array.Fill(logits, 0.5f, 30000, 10000);
        Assert.Equal((30000, 40000 - 65536), MaskScoring.CountAbove(logits, 1, 40000, 1f, -1f));
        // The same pixels as 2 rows of 20000 do not wrap.
        Assert.Equal((30000, 40000), MaskScoring.CountAbove(logits, 2, 20000, 1f, -1f));
    }

    [Fact]
    public void BoxHasInclusiveBoundsAndIsZeroWhenEmpty()
    {
        var logits = new float[5 * 6];
        Array.Fill(logits, -1f);
        Assert.Equal(new PixelBox(0, 0, 0, 0), MaskScoring.MaskBox(logits, 5, 6, 0f));
        logits[1 * 6 + 4] = 0.5f; // (x 4, y 1)
        logits[3 * 6 + 2] = 0.5f; // (x 2, y 3)
        Assert.Equal(new PixelBox(2, 1, 4, 3), MaskScoring.MaskBox(logits, 5, 6, 0f));
        var mask = logits.Select(v => v > 0 ? (byte)1 : (byte)0).ToArray();
        Assert.Equal(new PixelBox(2, 1, 4, 3), MaskScoring.MaskBox(mask, 5, 6));
        logits[1 * 6 + 4] = 0f; // not above the threshold
        Assert.Equal(new PixelBox(2, 3, 2, 3), MaskScoring.MaskBox(logits, 5, 6, 0f));
    }
}
