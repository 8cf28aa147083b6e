using SamEngine.Tests.Backends.Reference;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>The tiled online-softmax attention against a plain one that materialises every score.</summary>
public class AttentionTests
{
    public static IEnumerable<object[]> Paths() => GemmTests.Paths();

    [Theory]
    [MemberData(nameof(Paths))]
    internal void WindowedVitAttentionWithPaddingMatchesReference(SimdPath path) =>
        CheckVit(path, h: 9, w: 10, heads: 2, hd: 8, window: 4);

    [Theory]
    [MemberData(nameof(Paths))]
    internal void GlobalVitAttentionOverSeveralBlocksMatchesReference(SimdPath path) =>
        CheckVit(path, h: 13, w: 11, heads: 3, hd: 16, window: 0); // 143 tokens: more than one query and key block

    /// <summary>
    /// SAM's head dims (64 for vit_b/l, 80 for vit_h) and odd ones that leave partial channel panels;
    /// windows that do not divide the grid; a lone token; grids longer than one key block.
    /// </summary>
    public static IEnumerable<object[]> VitShapes()
    {
        var shapes = new (int H, int W, int Heads, int Hd, int Window)[]
        {
            (16, 15, 2, 64, 14), // vit_b head dim, 2 x 2 windows, the last ones mostly padding
            (6, 5, 1, 80, 0), // vit_h head dim, global
            (7, 9, 3, 7, 5), // odd head dim, windows over a padded 10 x 10
            (5, 5, 2, 9, 0),
            (1, 1, 2, 5, 0), // a single token
            (1, 1, 1, 12, 3), // a single token in a padded 3 x 3 window
            (17, 19, 1, 13, 0), // 323 tokens: two key blocks on every path
        };
        return from p in Paths() from s in shapes select new object[] { p[0], s.H, s.W, s.Heads, s.Hd, s.Window };
    }

    [Theory]
    [MemberData(nameof(VitShapes))]
    internal void VitAttentionOnOddShapesMatchesReference(SimdPath path, int h, int w, int heads, int hd, int window) =>
        CheckVit(path, h, w, heads, hd, window);

    [Theory]
    [MemberData(nameof(Paths))]
    internal void LargeScoresAcrossKeyBlocksRescaleCorrectly(SimdPath path)
    {
        // Scores that grow along the keys move the running max in every key block, so Oᵀ is rescaled.
        int n = 600, d = 16;
        var rng = new Random(9);
        var q = GemmTests.Random(rng, n * d).Select(x => 4 * x).ToArray();
        var k = new float[n * d];
        for (int i = 0; i < n; i++) for (int e = 0; e < d; e++) k[i * d + e] = q[(n - 1 - i) * d + e] * (1 + i / 100f);
        var v = GemmTests.Random(rng, n * d);
        using var be = new CpuBackend();
        var got = WithPath(path, () => be.ToHost(be.Attention(be.FromHost(q, 1, n, d), be.FromHost(k, 1, n, d), be.FromHost(v, 1, n, d), 1)));
        var want = AttentionReference.Attend(q, k, v, n, n, d, 1f / MathF.Sqrt(d), scaleQueryFirst: false, relPos: null);
        GemmTests.AssertClose(want, got, $"{path} growing scores", atol: 2e-5f);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    internal void DecoderAttentionMatchesReference(SimdPath path)
    {
        foreach (var (nq, nk) in new[] { (7, 300), (300, 7), (1, 1), (130, 129) })
        {
            int b = 2, heads = 4, hd = 8, c = heads * hd;
            var rng = new Random(nq * 7 + nk);
            var q = GemmTests.Random(rng, b * nq * c);
            var k = GemmTests.Random(rng, b * nk * c);
            var v = GemmTests.Random(rng, b * nk * c);
            using var be = new CpuBackend();
            var got = WithPath(path, () => be.ToHost(be.Attention(be.FromHost(q, b, nq, c), be.FromHost(k, b, nk, c), be.FromHost(v, b, nk, c), heads)));
            var want = new float[b * nq * c];
            for (int bi = 0; bi < b; bi++)
                for (int head = 0; head < heads; head++)
                {
                    var o = AttentionReference.Attend(Slice(q, bi, nq, c, head, hd), Slice(k, bi, nk, c, head, hd), Slice(v, bi, nk, c, head, hd),
                        nq, nk, hd, 1f / MathF.Sqrt(hd), scaleQueryFirst: false, relPos: null);
                    for (int i = 0; i < nq; i++) Array.Copy(o, i * hd, want, (bi * nq + i) * c + head * hd, hd);
                }
            GemmTests.AssertClose(want, got, $"{path} decoder attention {nq}x{nk}", atol: 1e-5f);
        }
    }

    /// <summary>
    /// TinyViT's windows (MobileSAM's 7 x 7 and 14 x 14 at head dim 32, odd ones) with attention biases
    /// and padded tokens, on every path: the bias panels follow each path's tile.
    /// </summary>
    public static IEnumerable<object[]> TinyVitShapes()
    {
        var shapes = new (int H, int W, int Heads, int Hd, int Window)[]
        {
            (16, 15, 2, 32, 14), // stage 3's window, the last ones mostly padding
            (9, 8, 3, 32, 7),
            (7, 5, 2, 5, 3), // odd head dim
            (3, 2, 1, 8, 4), // a window wider than the grid
            (30, 29, 1, 16, 14), // 196 queries: several query panels on every path
        };
        return from p in Paths() from s in shapes select new object[] { p[0], s.H, s.W, s.Heads, s.Hd, s.Window };
    }

    [Theory]
    [MemberData(nameof(TinyVitShapes))]
    internal void TinyVitAttentionMatchesReference(SimdPath path, int h, int w, int heads, int hd, int window)
    {
        int c3 = heads * 3 * hd;
        var rng = new Random(h * 100 + w + window);
        var qkv = new HostTensor(GemmTests.Random(rng, h * w * c3).Select(x => 2 * x).ToArray(), [1, h, w, c3]);
        var pad = new HostTensor(GemmTests.Random(rng, c3), [c3]);
        var biases = new Parameter("attn.attention_biases", [heads, window * window], Half(GemmTests.Random(rng, heads * window * window)));
        using var be = new CpuBackend();
        var got = WithPath(path, () => be.ToHost(be.TinyVitAttention(be.FromHost(qkv.Data, 1, h, w, c3), be.FromHost(pad.Data, c3), heads, window, biases)));
        var want = OpReference.TinyVitAttention(qkv, pad, heads, window, biases);
        GemmTests.AssertClose(want.Data, got, $"{path} TinyViT attention {h}x{w} window {window} head dim {hd}", atol: 1e-5f);
    }

    /// <summary>
    /// Few keys without rel-pos terms (the query-major <see cref="FewKeyAttention"/>): Hiera's 4 x 4 and 8 x 8
    /// windows at head dim 72, their pooled queries, TinyViT-sized 49 keys, a lone key, and more queries than
    /// one tile row; some key rows are the pad row, and the outputs of some queries are skipped.
    /// </summary>
    public static IEnumerable<object[]> FewKeyShapes()
    {
        var shapes = new (int Nq, int Nk, int D)[] { (16, 16, 72), (4, 16, 72), (64, 64, 72), (16, 64, 56), (49, 49, 32), (1, 1, 5), (300, 33, 8), (13, 64, 13) };
        return from p in Paths() from s in shapes select new object[] { p[0], s.Nq, s.Nk, s.D };
    }

    [Theory]
    [MemberData(nameof(FewKeyShapes))]
    internal void FewKeyAttentionMatchesReference(SimdPath path, int nq, int nk, int d)
    {
        // Rows of a wider buffer (stride 3d + 1), every fifth key row taken from the pad; queries too.
        int stride = 3 * d + 1;
        var rng = new Random(nq * 1000 + nk * 10 + d);
        var src = GemmTests.Random(rng, Math.Max(nq, nk) * stride).Select(x => 3 * x).ToArray();
        var pad = GemmTests.Random(rng, stride);
        int[] Starts(int n) => Enumerable.Range(0, n).Select(i => i % 5 == 3 ? -1 : i * stride).ToArray();
        float[] Dense(int[] starts, int offset) => starts.SelectMany(st => (st >= 0 ? src.AsSpan(st + offset, d) : pad.AsSpan(offset, d)).ToArray()).ToArray();
        var q = new HeadRows(src, Starts(nq), nq, 0, pad);
        var k = new HeadRows(src, Starts(nk), nk, d, pad);
        var v = k with { Offset = 2 * d };
        var outStarts = Enumerable.Range(0, nq).Select(i => i % 7 == 2 ? -1 : i * (d + 2)).ToArray();
        var y = Enumerable.Repeat(float.NaN, nq * (d + 2) + 1).ToArray();
        float scale = 1f / MathF.Sqrt(d);
        WithPath(path, () =>
        {
            FlashAttention.Attend(path, q, k, v, d, keyScale: 1f, postScale: scale, relPos: null, y, outStarts, outOffset: 1, new FlashAttention.HeadScratch());
            return 0;
        });
        var want = AttentionReference.Attend(Dense(q.Starts, 0), Dense(k.Starts, d), Dense(v.Starts, 2 * d), nq, nk, d, scale, scaleQueryFirst: false, relPos: null);
        for (int i = 0; i < nq; i++)
        {
            if (outStarts[i] < 0) continue;
            GemmTests.AssertClose(want.AsSpan(i * d, d).ToArray(), y.AsSpan(outStarts[i] + 1, d).ToArray(), $"{path} {nq} queries x {nk} keys, d {d}, query {i}", atol: 1e-5f);
        }
        int written = outStarts.Where(st => st >= 0).Count() * d;
        Assert.Equal(y.Length - written, y.Count(float.IsNaN)); // nothing written but the kept rows
    }

    private static void CheckVit(SimdPath path, int h, int w, int heads, int hd, int window)
    {
        int c = heads * hd, wh = window > 0 ? window : h, ww = window > 0 ? window : w;
        var rng = new Random(h * 100 + w + window);
        var qkv = GemmTests.Random(rng, h * w * 3 * c).Select(x => 2 * x).ToArray();
        var relH = Half(GemmTests.Random(rng, (2 * wh - 1) * hd));
        var relW = Half(GemmTests.Random(rng, (2 * ww - 1) * hd));
        var bias = Half(GemmTests.Random(rng, 3 * c));
        var pH = new Parameter("rel_pos_h", [2 * wh - 1, hd], relH);
        var pW = new Parameter("rel_pos_w", [2 * ww - 1, hd], relW);
        var pB = new Parameter("qkv.bias", [3 * c], bias);
        using var be = new CpuBackend();
        var got = WithPath(path, () => be.ToHost(be.VitAttention(be.FromHost(qkv, 1, h, w, 3 * c), heads, window, pH, pW, pB)));
        var want = AttentionReference.Vit(qkv, h, w, heads, window, pH.ToFloat(), pW.ToFloat(), pB.ToFloat());
        GemmTests.AssertClose(want, got, $"{path} vit attention {h}x{w} window {window}", atol: 1e-5f);
    }

    private static ushort[] Half(float[] x) => x.Select(Fp16.FromFloat).ToArray();

    private static float[] Slice(float[] src, int bi, int n, int c, int head, int hd)
    {
        var r = new float[n * hd];
        for (int i = 0; i < n; i++) Array.Copy(src, (bi * n + i) * c + head * hd, r, i * hd, hd);
        return r;
    }

    private static T WithPath<T>(SimdPath path, Func<T> f)
    {
        var saved = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try { return f(); }
        finally { Gemm.ForcedPath = saved; }
    }
}
