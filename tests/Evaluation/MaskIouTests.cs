using SamEngine.Evaluation;

namespace SamEngine.Tests.Evaluation;

/// <summary><see cref="MaskIou"/>: intersection over union of binary masks.</summary>
public sealed class MaskIouTests
{
    [Fact]
    public void Iou_counts_shared_pixels_over_pixels_in_either()
    {
        byte[] a = [1, 1, 1, 0, 0, 0];
        byte[] b = [0, 1, 1, 1, 1, 0];
        Assert.Equal(2.0 / 5, MaskIou.Of(a, b), 12);
        Assert.Equal(1.0, MaskIou.Of(a, a), 12);
        Assert.Equal(0.0, MaskIou.Of(a, [0, 0, 0, 1, 1, 1]), 12);
    }

    [Fact]
    public void Any_nonzero_byte_is_object_and_empty_masks_score_zero()
    {
        Assert.Equal(1.0, MaskIou.Of([255, 0], [1, 0]), 12);
        Assert.Equal(0.0, MaskIou.Of([0, 0], [0, 0]), 12);
    }

    [Fact]
    public void Masks_of_different_sizes_are_refused() =>
        Assert.Throws<ArgumentException>(() => MaskIou.Of([1, 0], [1, 0, 0]));
}
