using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Tests.Backends.Reference;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>
/// The CPU backend's cross attention with the image-side projections folded into the tokens, against
/// the scalar reference (projection, attention, projection as upstream writes them) on awkward shapes: image sides
/// shared by the batch or per prompt, queries already projected or not, and token counts on both sides
/// of the point where folding stops paying (then the plain composition runs).
/// </summary>
public class CrossAttentionTests
{
    public static IEnumerable<object[]> Cases() =>
        from path in GemmTests.Paths().Select(p => (SimdPath)p[0])
        from shape in new (int B, int ImageBatch, int N, int T, int Heads, int Hd, int Din)[]
        {
            (2, 1, 37, 3, 2, 8, 24),   // folded: T·H = 6 < C = 16, shared image
            (5, 1, 50, 2, 4, 8, 16),   // folded, five prompts over one shared image: one wide GEMM
            (3, 3, 130, 7, 4, 6, 40),  // folded: 28 > 24 = C, plain composition; per-prompt image
            (2, 2, 65, 5, 3, 8, 32),   // folded: 15 < 24, per-prompt image
            (1, 1, 1, 1, 1, 4, 8),     // a single image position and token
        }
        select new object[] { path, shape.B, shape.ImageBatch, shape.N, shape.T, shape.Heads, shape.Hd, shape.Din };

    [Theory]
    [MemberData(nameof(Cases))]
    internal void ImageToTokenMatchesComposition(SimdPath path, int b, int imageBatch, int n, int t, int heads, int hd, int din)
    {
        int c = heads * hd, d = din + 3;
        var rng = new Random(n * 31 + t);
        using var be = new CpuBackend();
        var image = be.FromHost(GemmTests.Random(rng, imageBatch * n * din), imageBatch, n, din);
        var projected = be.FromHost(GemmTests.Random(rng, imageBatch * n * c), imageBatch, n, c);
        var k = be.FromHost(GemmTests.Random(rng, b * t * c), b, t, c);
        var v = be.FromHost(GemmTests.Random(rng, b * t * c), b, t, c);
        var wq = RandomParameter(rng, "q_proj.weight", c, din);
        var bq = RandomParameter(rng, "q_proj.bias", c);
        var wOut = RandomParameter(rng, "out_proj.weight", d, c);
        var bOut = RandomParameter(rng, "out_proj.bias", d);

        Compare(path, () => be.ImageToTokenAttention(image, wq, bq, k, v, heads, wOut, bOut),
            () => OpReference.ImageToTokenAttention(Host(be, image), wq, bq, Host(be, k), Host(be, v), heads, wOut, bOut), be, "projected in the op");
        Compare(path, () => be.ImageToTokenAttention(projected, null, null, k, v, heads, wOut, bOut),
            () => OpReference.ImageToTokenAttention(Host(be, projected), null, null, Host(be, k), Host(be, v), heads, wOut, bOut), be, "queries given");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    internal void TokenToImageMatchesComposition(SimdPath path, int b, int imageBatch, int n, int t, int heads, int hd, int din)
    {
        int c = heads * hd;
        var rng = new Random(n * 17 + t);
        using var be = new CpuBackend();
        var keys = be.FromHost(GemmTests.Random(rng, imageBatch * n * din), imageBatch, n, din);
        var values = be.FromHost(GemmTests.Random(rng, imageBatch * n * din), imageBatch, n, din);
        var q = be.FromHost(GemmTests.Random(rng, b * t * c).Select(x => 3 * x).ToArray(), b, t, c); // sharp softmax
        var wk = RandomParameter(rng, "k_proj.weight", c, din);
        var bk = RandomParameter(rng, "k_proj.bias", c);
        var wv = RandomParameter(rng, "v_proj.weight", c, din);
        var bv = RandomParameter(rng, "v_proj.bias", c);

        Compare(path, () => be.TokenToImageAttention(q, keys, wk, bk, values, wv, bv, heads),
            () => OpReference.TokenToImageAttention(Host(be, q), Host(be, keys), wk, bk, Host(be, values), wv, bv, heads), be, "token to image");

        // Keys and values already projected (the first block's cached image side).
        var kp = be.FromHost(GemmTests.Random(rng, imageBatch * n * c), imageBatch, n, c);
        var vp = be.FromHost(GemmTests.Random(rng, imageBatch * n * c), imageBatch, n, c);
        Compare(path, () => be.TokenToImageAttention(q, kp, null, null, vp, null, null, heads),
            () => OpReference.TokenToImageAttention(Host(be, q), Host(be, kp), null, null, Host(be, vp), null, null, heads), be, "token to projected image");
    }

    [Fact]
    public void MismatchedShapesAreNamed()
    {
        using var be = new CpuBackend();
        var rng = new Random(1);
        var image = be.FromHost(new float[2 * 5 * 8], 2, 5, 8);
        var k = be.FromHost(new float[3 * 2 * 8], 3, 2, 8);
        var w = RandomParameter(rng, "out_proj.weight", 8, 8);
        var bias = RandomParameter(rng, "out_proj.bias", 8);
        var e = Assert.Throws<ArgumentException>(() => be.ImageToTokenAttention(image, null, null, k, k, 2, w, bias));
        Assert.Contains("batch", e.Message);
        var wrongProjection = RandomParameter(rng, "k_proj.weight", 8, 6);
        var shared = be.FromHost(new float[5 * 8], 1, 5, 8);
        e = Assert.Throws<ArgumentException>(() => be.TokenToImageAttention(k, shared, wrongProjection, bias, shared, wrongProjection, bias, 2));
        Assert.Contains("k_proj.weight", e.Message);
    }

    private static void Compare(SimdPath path, Func<Tensor> fused, Func<HostTensor> reference, CpuBackend be, string what)
    {
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try
        {
            var got = fused();
            var want = reference();
            Assert.Equal(want.Shape, got.Shape);
            GemmTests.AssertClose(want.Data, be.ToHost(got), $"{path} {what}", atol: 2e-5f);
        }
        finally { Gemm.ForcedPath = saved; }
    }

    private static HostTensor Host(CpuBackend be, Tensor t) => new(be.ToHost(t), t.Shape);

    private static Parameter RandomParameter(Random rng, string name, params int[] shape) =>
        new(name, shape, GemmTests.Random(rng, (int)ShapeUtil.Count(shape)).Select(x => Fp16.FromFloat(x * 0.5f)).ToArray());
}
