namespace SamEngine.Tests.Processing;

/// <summary>Error metrics for the processing tests (rel L2 as defined in fixtures/README.md).</summary>
internal static class ProcessingAssert
{
    /// <summary>||a - r||_2 / ||r||_2 in double, via the project's one comparison helper.</summary>
    public static double RelL2(ReadOnlySpan<float> actual, ReadOnlySpan<float> reference)
    {
        Assert.Equal(reference.Length, actual.Length);
        return SamEngine.Parity.TensorCompare.Compare("", actual.ToArray(), reference.ToArray(), false, SamEngine.Parity.Precision.Fp32).RelL2;
    }

    /// <summary>Fails with the tensor name, the first mismatching indices and the mismatch count.</summary>
    public static void BytesEqual(string name, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var first = new List<string>();
        int mismatches = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] == actual[i]) continue;
            if (mismatches++ < 5) first.Add($"[{i}] expected {expected[i]} got {actual[i]}");
        }
        Assert.True(mismatches == 0, $"{name}: {mismatches} of {expected.Length} bytes differ; first: {string.Join(", ", first)}");
    }
}
