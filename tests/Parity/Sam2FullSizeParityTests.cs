using Xunit.Abstractions;

namespace SamEngine.Tests.Parity;

/// <summary>
/// SAM 2.1 parity at full size (1024 x 1024 input, generated weights from the seed in cases.json) with the
/// official <c>SAM2ImagePredictor</c>, end to end on <c>cpu</c>, with the assertion of
/// <see cref="Sam2ParityTests"/>. The fixtures are written by tools/fixtures/sam2/make_all.sh to
/// <c>fixtures-large/</c> under the repository root and not committed; without them the tests skip.
/// Heavy, so only in the opt-in Large category.
/// </summary>
[Trait("Category", "Large")]
public sealed class Sam2FullSizeParityTests(ITestOutputHelper output)
{
    /// <summary>
    /// At least the decoder's outputs of every case (the large fixtures keep fewer trunk blocks than the
    /// small ones and leave out input_tensor, the stride-4 FPN level and its position encodings).
    /// </summary>
    private const int MinimumCompared = 50;

    [LargeFixtureFact("sam2.1_hiera_t")]
    public void HieraT_end_to_end_matches_every_reference_tensor_on_cpu() =>
        new Sam2ParityTests(output).AssertParity(TestFixtures.Large("sam2.1_hiera_t")!, null, MinimumCompared, fromReferenceEmbedding: false);

    [LargeFixtureFact("sam2.1_hiera_b+")]
    public void HieraBPlus_end_to_end_matches_every_reference_tensor_on_cpu() =>
        new Sam2ParityTests(output).AssertParity(TestFixtures.Large("sam2.1_hiera_b+")!, null, MinimumCompared, fromReferenceEmbedding: false);
}
