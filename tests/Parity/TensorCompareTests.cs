using SamEngine.Parity;

namespace SamEngine.Tests.Parity;

public sealed class TensorCompareTests
{
    private static float[] Reference() => Enumerable.Range(0, 100).Select(i => MathF.Sin(i)).ToArray();

    [Theory]
    [InlineData("point_multi.iou_predictions", float.NaN)]
    [InlineData("point_multi.iou_predictions", float.PositiveInfinity)]
    [InlineData("image_embeddings", float.NaN)]
    [InlineData("image_embeddings", float.NegativeInfinity)]
    [InlineData("input_resized", float.NaN)]
    [InlineData("point_multi.masks", float.NaN)]
    public void A_non_finite_engine_value_fails_and_is_named(string name, float bad)
    {
        var reference = Reference();
        var engine = (float[])reference.Clone();
        engine[41] = bad;
        engine[77] = float.NaN;
        foreach (var precision in new[] { Precision.Fp32, Precision.Fp16 })
        {
            var c = TensorCompare.Compare(name, engine, reference, referenceIsFp16: false, precision);
            Assert.False(c.Passed);
            Assert.StartsWith($"'{name}': engine value [41] is {(float.IsNaN(bad) ? "NaN" : bad > 0 ? "Infinity" : "-Infinity")}", c.Detail);
        }
    }

    [Fact]
    public void Infinity_on_both_sides_fails_too()
    {
        // inf - inf is NaN, and equal infinities count as equal: neither may pass the max-abs limit.
        var reference = Reference();
        reference[3] = float.PositiveInfinity;
        var engine = (float[])reference.Clone();
        var c = TensorCompare.Compare("box.iou_predictions", engine, reference, false, Precision.Fp32);
        Assert.False(c.Passed);
        Assert.Contains("engine value [3] is Infinity", c.Detail);
    }

    [Fact]
    public void A_non_finite_reference_value_fails_and_is_named()
    {
        var reference = Reference();
        reference[5] = float.NaN;
        var engine = Reference();
        var c = TensorCompare.Compare("box.iou_predictions", engine, reference, false, Precision.Fp32);
        Assert.False(c.Passed);
        Assert.StartsWith("'box.iou_predictions': reference value [5] is NaN", c.Detail);
    }

    [Fact]
    public void Finite_tensors_within_the_limits_still_pass()
    {
        var reference = Reference();
        var engine = reference.Select(v => v + 1e-6f).ToArray();
        Assert.True(TensorCompare.Compare("box.iou_predictions", engine, reference, false, Precision.Fp32).Passed);
        Assert.True(TensorCompare.Compare("image_embeddings", engine, reference, false, Precision.Fp32).Passed);
    }
}
