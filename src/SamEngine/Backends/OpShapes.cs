using SamEngine.Weights;

namespace SamEngine.Backends;

/// <summary>
/// The shape rules of the <see cref="IBackend"/> ops, in one place: every backend checks its inputs and
/// sizes its outputs through these, so a misuse gets the same error whatever runs the model.
/// </summary>
public static class OpShapes
{
    /// <summary>Checks that <paramref name="shape"/> holds exactly as many elements as <paramref name="x"/>.</summary>
    public static void Reshape(Tensor x, int[] shape)
    {
        if (ShapeUtil.Count(shape) != x.Length) throw new ArgumentException($"cannot reshape {x} to {ShapeUtil.Format(shape)}");
    }

    /// <summary>x [..., K] with weight [N, K] → output shape [..., N]; also returns M, N, K. A residual must have the output's shape.</summary>
    public static (int[] Shape, int M, int N, int K) Linear(Tensor x, Parameter weight, Tensor? residual = null)
    {
        int n = weight.Shape[0], k = weight.Shape[1];
        if (x.Dim(-1) != k) throw new ArgumentException($"linear '{weight.Name}' expects {k} input features, got {x}");
        var shape = (int[])x.Shape.Clone();
        shape[^1] = n;
        if (residual is not null && !residual.Shape.AsSpan().SequenceEqual(shape))
            throw new ArgumentException($"linear '{weight.Name}': residual {residual} does not match the output {ShapeUtil.Format(shape)}");
        return (shape, x.Length / k, n, k);
    }

    /// <summary>
    /// x [B, H, W, Cin] with weight [Cin, Cout, 2, 2] → (B, H, W, Cin, Cout); a fused norm must have Cout channels.
    /// </summary>
    public static (int Batch, int H, int W, int Cin, int Cout) ConvTranspose2x2(Tensor x, Parameter weight, Parameter bias, ChannelNorm? norm)
    {
        if (x.Rank != 4 || weight.Shape.Length != 4 || weight.Shape[0] != x.Dim(3) || weight.Shape[2] != 2 || weight.Shape[3] != 2)
            throw new ArgumentException($"transposed conv '{weight.Name}' {ShapeUtil.Format(weight.Shape)} does not fit input {x}");
        int cout = weight.Shape[1];
        if (bias.Length != cout) throw new ArgumentException($"transposed conv bias '{bias.Name}' has {bias.Length} values for {cout} channels");
        if (norm is not null && (norm.Weight.Length != cout || norm.Bias.Length != cout))
            throw new ArgumentException($"LayerNorm2d '{norm.Weight.Name}' has {norm.Weight.Length} channels, transposed conv '{weight.Name}' {cout}");
        return (x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), cout);
    }

    /// <summary>a [B, M, K] and b [B, N, K] → (B, M, N, K).</summary>
    public static (int Batch, int M, int N, int K) MatMulTransposed(Tensor a, Tensor b)
    {
        if (a.Rank != 3 || b.Rank != 3 || b.Dim(0) != a.Dim(0) || b.Dim(2) != a.Dim(2)) throw new ArgumentException($"MatMulTransposed: {a} and {b} do not fit");
        return (a.Dim(0), a.Dim(1), b.Dim(1), a.Dim(2));
    }

    /// <summary>Checks that b's shape is a suffix of a's (b is broadcast over a's leading dimensions).</summary>
    public static void Add(Tensor a, Tensor b)
    {
        if (b.Rank > a.Rank || a.Length % b.Length != 0 || !a.Shape.AsSpan(a.Rank - b.Rank).SequenceEqual(b.Shape))
            throw new ArgumentException($"cannot add {b} to {a}");
    }

    /// <summary>Checks LayerNorm parameters (and a residual, as for <see cref="Add"/>) against x's last dimension and returns it.</summary>
    public static int LayerNorm(Tensor x, Parameter weight, Parameter bias, Tensor? residual = null)
    {
        if (residual is not null) Add(x, residual);
        int c = x.Dim(-1);
        if (weight.Length != c || bias.Length != c) throw new ArgumentException($"LayerNorm '{weight.Name}' has {weight.Length} channels, input {x}");
        return c;
    }

    /// <summary>x [B, N, ...] → output shape [B, count, ...]; also returns B, N and the row size.</summary>
    public static (int[] Shape, int Batch, int Rows, int RowSize) SliceRows(Tensor x, int start, int count)
    {
        int batch = x.Dim(0), rows = x.Dim(1);
        if (start < 0 || count < 0 || start + count > rows) throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) of {x}");
        var shape = (int[])x.Shape.Clone();
        shape[1] = count;
        return (shape, batch, rows, x.Length / (batch * rows));
    }

    /// <summary>Parts [B, N_i, C] → (B, ΣN_i, C).</summary>
    public static (int Batch, int Rows, int Channels) ConcatRows(Tensor[] parts)
    {
        if (parts.Length == 0) throw new ArgumentException("ConcatRows: no parts");
        int batch = parts[0].Dim(0), c = parts[0].Dim(2);
        if (parts.Any(p => p.Rank != 3 || p.Dim(0) != batch || p.Dim(2) != c)) throw new ArgumentException("ConcatRows: parts differ in batch or channels");
        return (batch, parts.Sum(p => p.Dim(1)), c);
    }

    /// <summary>
    /// The decoder's cross attention between an image side [1 or B, N, Din] (projected to C channels by
    /// <paramref name="projection"/> [C, Din], or already C wide when it is null) and tokens [B, T, C]
    /// split into <paramref name="heads"/> heads → (B, N, T, C, Din).
    /// </summary>
    public static (int Batch, int N, int T, int C, int Din) CrossAttention(Tensor image, Parameter? projection, Tensor tokens, int heads)
    {
        if (image.Rank != 3 || tokens.Rank != 3) throw new ArgumentException($"cross attention: image {image} and tokens {tokens} must be [B, N, C]");
        int b = tokens.Dim(0), t = tokens.Dim(1), c = tokens.Dim(2), din = image.Dim(2);
        int projIn = projection?.Shape[1] ?? c, projOut = projection?.Shape[0] ?? c;
        if (image.Dim(0) != 1 && image.Dim(0) != b) throw new ArgumentException($"cross attention: image batch of {image} is neither 1 nor that of the tokens {tokens}");
        if (din != projIn || projOut != c) throw new ArgumentException($"cross attention: {image} projected by {projection?.Name ?? "nothing"} does not give the tokens' {c} channels");
        if (heads <= 0 || c % heads != 0 || t == 0) throw new ArgumentException($"cross attention: {tokens} cannot be split into {heads} heads");
        return (b, image.Dim(1), t, c, din);
    }

    /// <summary>x [B, g, g, D] and hyper [B, M, C] against the upscaling weights → (B, g, D, C1, C, M).</summary>
    public static (int Batch, int Grid, int D, int C1, int C, int Masks) UpscaledMaskLogits(Tensor x, UpscalingWeights w, Tensor hyper)
    {
        if (x.Rank != 4 || x.Dim(1) != x.Dim(2)) throw new ArgumentException($"mask upscaling expects a square [B, g, g, D] grid, got {x}");
        int b = x.Dim(0), d = x.Dim(3);
        int[] s1 = w.Conv1Weight.Shape, s2 = w.Conv2Weight.Shape;
        if (s1.Length != 4 || s1[0] != d || s1[2] != 2 || s1[3] != 2) throw new ArgumentException($"'{w.Conv1Weight.Name}' {ShapeUtil.Format(s1)} does not fit {x}");
        int c1 = s1[1];
        if (s2.Length != 4 || s2[0] != c1 || s2[2] != 2 || s2[3] != 2) throw new ArgumentException($"'{w.Conv2Weight.Name}' {ShapeUtil.Format(s2)} does not follow {c1} channels");
        int c = s2[1];
        if (w.Conv1Bias.Length != c1 || w.NormWeight.Length != c1 || w.NormBias.Length != c1 || w.Conv2Bias.Length != c)
            throw new ArgumentException($"mask upscaling: biases or norm of {c1} / {c} channels do not fit");
        if (hyper.Rank != 3 || hyper.Dim(0) != b || hyper.Dim(2) != c) throw new ArgumentException($"mask upscaling: hypernetwork output {hyper} does not fit [{b}, M, {c}]");
        return (b, x.Dim(1), d, c1, c, hyper.Dim(1));
    }

    /// <summary>
    /// ViT attention over a packed qkv [1, H, W, 3C] with <paramref name="heads"/> heads and rel-pos tables
    /// for a <paramref name="windowSize"/> window (0: the whole grid) → (H, W, C, head dim, window H, window W).
    /// </summary>
    public static (int H, int W, int C, int HeadDim, int WindowH, int WindowW) VitAttention(Tensor qkv, int heads, int windowSize, Parameter relPosH, Parameter relPosW)
    {
        int h = qkv.Dim(1), w = qkv.Dim(2), c3 = qkv.Dim(3), c = c3 / 3, hd = c / heads;
        if (qkv.Rank != 4 || qkv.Dim(0) != 1 || c3 != 3 * c || c != hd * heads) throw new ArgumentException($"VitAttention: bad qkv {qkv} for {heads} heads");
        // Window (or whole grid) extent; windows tile the zero-padded grid.
        int wh = windowSize > 0 ? windowSize : h, ww = windowSize > 0 ? windowSize : w;
        if (relPosH.Shape[0] != 2 * wh - 1 || relPosW.Shape[0] != 2 * ww - 1 || relPosH.Shape[1] != hd || relPosW.Shape[1] != hd)
            throw new ArgumentException($"relative position tables {ShapeUtil.Format(relPosH.Shape)} / {ShapeUtil.Format(relPosW.Shape)} do not fit a {wh}x{ww} window of head dim {hd}");
        return (h, w, c, hd, wh, ww);
    }
}
