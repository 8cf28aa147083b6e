using SamEngine.Weights;

namespace SamEngine.Backends;

/// <summary>
/// The shape rules of the <see cref="IBackend"/> ops, in one place: every backend checks its inputs and
/// sizes its outputs through these before it reads a dimension or launches a kernel, so a misuse gets
/// the same <see cref="ArgumentException"/> whatever runs the model, naming the op, the argument and
/// the shapes. Ranks are checked before any dimension is read.
/// </summary>
public static class OpShapes
{
    /// <summary>Checks that <paramref name="length"/> values fill <paramref name="shape"/> (no negative dimension).</summary>
    public static void FromHost(int length, int[] shape)
    {
        Dimensions("FromHost", shape);
        if (ShapeUtil.Count(shape) != length) throw new ArgumentException($"FromHost: {length} values do not fill shape {ShapeUtil.Format(shape)}");
    }

    /// <summary>Checks that <paramref name="shape"/> holds exactly as many elements as <paramref name="x"/>.</summary>
    public static void Reshape(Tensor x, int[] shape)
    {
        Dimensions("Reshape", shape);
        if (ShapeUtil.Count(shape) != x.Length) throw new ArgumentException($"Reshape: cannot reshape {x} to {ShapeUtil.Format(shape)}");
    }

    /// <summary>
    /// x [..., K] with weight [N, K] and bias [N] → output shape [..., N]; also returns M, N, K. A
    /// residual must have the output's shape.
    /// </summary>
    public static (int[] Shape, int M, int N, int K) Linear(Tensor x, Parameter weight, Parameter? bias, Activation act, Tensor? residual = null)
    {
        const string op = "Linear";
        AtLeast(op, "x", x, 1, "[..., K]");
        Param(op, "weight", weight, 2, "[N, K]");
        int n = weight.Shape[0], k = weight.Shape[1];
        if (x.Dim(-1) != k) throw new ArgumentException($"{op}: weight '{weight.Name}' expects {k} input features, got x {x}");
        Vector(op, "bias", bias, n);
        Defined(op, act);
        var shape = (int[])x.Shape.Clone();
        shape[^1] = n;
        if (residual is not null && !residual.Shape.AsSpan().SequenceEqual(shape))
            throw new ArgumentException($"{op} '{weight.Name}': residual {residual} does not match the output {ShapeUtil.Format(shape)}");
        return (shape, x.Length / k, n, k);
    }

    /// <summary>a [B, M, K] and b [B, N, K] → (B, M, N, K).</summary>
    public static (int Batch, int M, int N, int K) MatMulTransposed(Tensor a, Tensor b)
    {
        const string op = "MatMulTransposed";
        Rank(op, "a", a, 3, "[B, M, K]");
        Rank(op, "b", b, 3, "[B, N, K]");
        if (b.Dim(0) != a.Dim(0) || b.Dim(2) != a.Dim(2) || b.Dim(1) == 0 || b.Dim(2) == 0)
            throw new ArgumentException($"{op}: a {a} and b {b} do not fit [B, M, K] x [B, N, K] with N, K ≥ 1");
        return (a.Dim(0), a.Dim(1), b.Dim(1), a.Dim(2));
    }

    /// <summary>Checks that b's shape is a suffix of a's (b is broadcast over a's leading dimensions).</summary>
    public static void Add(Tensor a, Tensor b) => Broadcast("Add", "b", a, b);

    /// <summary>
    /// Checks LayerNorm parameters [C] (and a residual, broadcast as for <see cref="Add"/>) against x
    /// [..., C] and returns C.
    /// </summary>
    public static int LayerNorm(Tensor x, Parameter weight, Parameter bias, float eps, Tensor? residual = null)
    {
        const string op = "LayerNorm";
        AtLeast(op, "x", x, 1, "[..., C]");
        if (residual is not null) Broadcast(op, "residual", x, residual);
        int c = x.Dim(-1);
        if (c == 0) throw new ArgumentException($"{op}: x {x} has no channels");
        Vector(op, "weight", weight, c);
        Vector(op, "bias", bias, c);
        if (!(eps >= 0) || float.IsInfinity(eps)) throw new ArgumentException($"{op} '{weight.Name}': eps {eps} is not a finite non-negative number");
        return c;
    }

    /// <summary>Checks that <paramref name="act"/> is an <see cref="Activation"/>.</summary>
    public static void Activate(Tensor x, Activation act) => Defined("Activate", act);

    /// <summary>
    /// x [B, H, W, Cin] with weight [Cout, Cin, kh, kw] and bias [Cout] → (B, H, W, Cin, Cout, kh, kw, Ho, Wo).
    /// </summary>
    public static (int Batch, int H, int W, int Cin, int Cout, int KernelH, int KernelW, int OutH, int OutW) Conv2d(
        Tensor x, Parameter weight, Parameter? bias, int stride, int padding)
    {
        const string op = "Conv2d";
        Rank(op, "x", x, 4, "[B, H, W, Cin]");
        Param(op, "weight", weight, 4, "[Cout, Cin, kh, kw]");
        int b = x.Dim(0), h = x.Dim(1), w = x.Dim(2), cin = x.Dim(3);
        int cout = weight.Shape[0], kh = weight.Shape[2], kw = weight.Shape[3];
        if (weight.Shape[1] != cin) throw new ArgumentException($"{op}: weight '{weight.Name}' {ShapeUtil.Format(weight.Shape)} does not fit x {x}");
        Vector(op, "bias", bias, cout);
        if (stride < 1 || padding < 0) throw new ArgumentException($"{op} '{weight.Name}': stride {stride} and padding {padding} must be positive and non-negative");
        long ho = ((long)h + 2L * padding - kh) / stride + 1, wo = ((long)w + 2L * padding - kw) / stride + 1;
        if (kh < 1 || kw < 1 || ho < 1 || wo < 1 || ho > int.MaxValue || wo > int.MaxValue)
            throw new ArgumentException($"{op}: a {kh}x{kw} kernel with stride {stride} and padding {padding} gives no output from x {x}");
        return (b, h, w, cin, cout, kh, kw, (int)ho, (int)wo);
    }

    /// <summary>
    /// x [B, H, W, Cin] with weight [Cin, Cout, 2, 2] → (B, H, W, Cin, Cout); bias [Cout]; a fused norm must have Cout channels.
    /// </summary>
    public static (int Batch, int H, int W, int Cin, int Cout) ConvTranspose2x2(Tensor x, Parameter weight, Parameter bias, ChannelNorm? norm, Activation act = Activation.None)
    {
        const string op = "ConvTranspose2x2";
        Rank(op, "x", x, 4, "[B, H, W, Cin]");
        Param(op, "weight", weight, 4, "[Cin, Cout, 2, 2]");
        if (weight.Shape[0] != x.Dim(3) || weight.Shape[2] != 2 || weight.Shape[3] != 2)
            throw new ArgumentException($"{op}: weight '{weight.Name}' {ShapeUtil.Format(weight.Shape)} does not fit x {x}");
        int cout = weight.Shape[1];
        Vector(op, "bias", bias, cout);
        if (norm is not null && (norm.Weight.Length != cout || norm.Bias.Length != cout))
            throw new ArgumentException($"{op}: LayerNorm2d '{norm.Weight.Name}' has {norm.Weight.Length} channels, weight '{weight.Name}' {cout}");
        Defined(op, act);
        return (x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), cout);
    }

    /// <summary>
    /// ViT attention over a packed qkv [1, H, W, 3C] with <paramref name="heads"/> heads, qkv bias [3C]
    /// and rel-pos tables [2 window - 1, head dim] for a <paramref name="windowSize"/> window (0: the
    /// whole grid) → (H, W, C, head dim, window H, window W).
    /// </summary>
    public static (int H, int W, int C, int HeadDim, int WindowH, int WindowW) VitAttention(Tensor qkv, int heads, int windowSize,
        Parameter relPosH, Parameter relPosW, Parameter qkvBias)
    {
        const string op = "VitAttention";
        Rank(op, "qkv", qkv, 4, "[1, H, W, 3C]");
        int h = qkv.Dim(1), w = qkv.Dim(2), c3 = qkv.Dim(3);
        if (qkv.Dim(0) != 1 || heads < 1 || c3 % (3 * heads) != 0 || c3 == 0 || h == 0 || w == 0)
            throw new ArgumentException($"{op}: qkv {qkv} is not [1, H, W, 3C] with C split into {heads} heads");
        if (windowSize < 0) throw new ArgumentException($"{op}: window size {windowSize} is negative");
        int c = c3 / 3, hd = c / heads;
        Vector(op, "qkvBias", qkvBias, c3);
        // Window (or whole grid) extent; windows tile the zero-padded grid.
        int wh = windowSize > 0 ? windowSize : h, ww = windowSize > 0 ? windowSize : w;
        Param(op, "relPosH", relPosH, 2, "[2 window - 1, head dim]");
        Param(op, "relPosW", relPosW, 2, "[2 window - 1, head dim]");
        if (relPosH.Shape[0] != 2 * wh - 1 || relPosW.Shape[0] != 2 * ww - 1 || relPosH.Shape[1] != hd || relPosW.Shape[1] != hd)
            throw new ArgumentException($"{op}: relative position tables {ShapeUtil.Format(relPosH.Shape)} / {ShapeUtil.Format(relPosW.Shape)} do not fit a {wh}x{ww} window of head dim {hd}");
        return (h, w, c, hd, wh, ww);
    }

    /// <summary>q [B, Nq, C], k and v [B, Nk, C] (Nk ≥ 1), C split into <paramref name="heads"/> heads → (B, Nq, Nk, C, head dim).</summary>
    public static (int Batch, int Nq, int Nk, int C, int HeadDim) Attention(Tensor q, Tensor k, Tensor v, int heads)
    {
        const string op = "Attention";
        Rank(op, "q", q, 3, "[B, Nq, C]");
        Rank(op, "k", k, 3, "[B, Nk, C]");
        Rank(op, "v", v, 3, "[B, Nk, C]");
        int b = q.Dim(0), c = q.Dim(2), nk = k.Dim(1);
        if (k.Dim(0) != b || k.Dim(2) != c || !v.Shape.AsSpan().SequenceEqual(k.Shape) || nk == 0)
            throw new ArgumentException($"{op}: q {q}, k {k} and v {v} do not fit [B, Nq, C], [B, Nk, C], [B, Nk, C]");
        Heads(op, c, heads);
        return (b, q.Dim(1), nk, c, c / heads);
    }

    /// <summary>x [B, M, N] → (B, M, N).</summary>
    public static (int Batch, int M, int N) Transpose(Tensor x)
    {
        Rank("Transpose", "x", x, 3, "[B, M, N]");
        return (x.Dim(0), x.Dim(1), x.Dim(2));
    }

    /// <summary>x [B, N, ...] → output shape [B, count, ...]; also returns B, N and the row size.</summary>
    public static (int[] Shape, int Batch, int Rows, int RowSize) SliceRows(Tensor x, int start, int count)
    {
        const string op = "SliceRows";
        AtLeast(op, "x", x, 2, "[B, N, ...]");
        int batch = x.Dim(0), rows = x.Dim(1);
        if (start < 0 || count < 0 || (long)start + count > rows)
            throw new ArgumentOutOfRangeException(nameof(start), $"{op}: rows [{start}, {(long)start + count}) are not within the {rows} rows of x {x}");
        var shape = (int[])x.Shape.Clone();
        shape[1] = count;
        long rowsTotal = (long)batch * rows;
        return (shape, batch, rows, rowsTotal == 0 ? 0 : (int)(x.Length / rowsTotal));
    }

    /// <summary>Parts [B, N_i, C] → (B, ΣN_i, C).</summary>
    public static (int Batch, int Rows, int Channels) ConcatRows(Tensor[] parts)
    {
        const string op = "ConcatRows";
        if (parts is null || parts.Length == 0) throw new ArgumentException($"{op}: no parts");
        for (int i = 0; i < parts.Length; i++) Rank(op, $"part {i}", parts[i], 3, "[B, N, C]");
        int batch = parts[0].Dim(0), c = parts[0].Dim(2);
        long rows = 0;
        foreach (var p in parts)
        {
            if (p.Dim(0) != batch || p.Dim(2) != c)
                throw new ArgumentException($"{op}: parts {string.Join(", ", parts.Select(q => q.ToString()))} differ in batch or channels");
            rows += p.Dim(1);
        }
        if (rows > int.MaxValue) throw new ArgumentException($"{op}: {rows} rows in all are too many");
        return (batch, (int)rows, c);
    }

    /// <summary>The gaussian matrix [2, D/2] and a grid of at least one cell → (grid, D).</summary>
    public static (int Grid, int D) DensePositionalEncoding(Parameter gaussian, int grid)
    {
        const string op = "DensePositionalEncoding";
        Param(op, "gaussian", gaussian, 2, "[2, D/2]");
        if (gaussian.Shape[0] != 2) throw new ArgumentException($"{op}: gaussian '{gaussian.Name}' {ShapeUtil.Format(gaussian.Shape)} is not [2, D/2]");
        int d = 2 * gaussian.Shape[1];
        if (grid < 1 || (long)grid * grid * d > int.MaxValue) throw new ArgumentException($"{op}: a grid of {grid} x {grid} cells of {d} features cannot be encoded");
        return (grid, d);
    }

    /// <summary>
    /// The decoder's image→token attention: image [1 or B, N, Din] projected by qWeight [C, Din] and
    /// qBias [C] (both null: Din = C), tokens k and v [B, T, C] split into <paramref name="heads"/>
    /// heads, outWeight [D, C] and outBias [D] → (B, N, T, C, Din, D).
    /// </summary>
    public static (int Batch, int N, int T, int C, int Din, int D) ImageToTokenAttention(Tensor image, Parameter? qWeight, Parameter? qBias,
        Tensor k, Tensor v, int heads, Parameter outWeight, Parameter outBias)
    {
        const string op = "ImageToTokenAttention";
        Rank(op, "k", k, 3, "[B, T, C]");
        Rank(op, "v", v, 3, "[B, T, C]");
        if (!v.Shape.AsSpan().SequenceEqual(k.Shape)) throw new ArgumentException($"{op}: v {v} does not match k {k}");
        var (b, n, t, c, din) = CrossAttention(op, image, "image", qWeight, qBias, k, heads);
        Param(op, "outWeight", outWeight, 2, "[D, C]");
        if (outWeight.Shape[1] != c) throw new ArgumentException($"{op}: outWeight '{outWeight.Name}' {ShapeUtil.Format(outWeight.Shape)} does not take the tokens' {c} channels");
        Vector(op, "outBias", outBias, outWeight.Shape[0]);
        return (b, n, t, c, din, outWeight.Shape[0]);
    }

    /// <summary>
    /// The decoder's token→image attention: q [B, T, C] split into <paramref name="heads"/> heads; keys
    /// and values [1 or B, N, Din], each projected by a weight [C, Din] and bias [C] (both null: Din =
    /// C) → (B, N, T, C, Din).
    /// </summary>
    public static (int Batch, int N, int T, int C, int Din) TokenToImageAttention(Tensor q, Tensor keys, Parameter? kWeight, Parameter? kBias,
        Tensor values, Parameter? vWeight, Parameter? vBias, int heads)
    {
        const string op = "TokenToImageAttention";
        Rank(op, "q", q, 3, "[B, T, C]");
        var shapes = CrossAttention(op, keys, "keys", kWeight, kBias, q, heads);
        Rank(op, "values", values, 3, "[1 or B, N, Din]");
        if (!values.Shape.AsSpan().SequenceEqual(keys.Shape)) throw new ArgumentException($"{op}: values {values} do not match keys {keys}");
        CrossAttention(op, values, "values", vWeight, vBias, q, heads);
        return shapes;
    }

    /// <summary>
    /// x [B, g, g, D] and hyper [B, M, C] against the upscaling weights, with SAM 2.1's high-resolution
    /// skips both or neither: <paramref name="featS1"/> [1, 2g, 2g, C1], <paramref name="featS0"/> [1, 4g, 4g, C]
    /// → (B, g, D, C1, C, M).
    /// </summary>
    public static (int Batch, int Grid, int D, int C1, int C, int Masks) UpscaledMaskLogits(Tensor x, UpscalingWeights w, Tensor hyper,
        Tensor? featS1 = null, Tensor? featS0 = null)
    {
        const string op = "UpscaledMaskLogits";
        Rank(op, "x", x, 4, "[B, g, g, D]");
        Rank(op, "hyper", hyper, 3, "[B, M, C]");
        if (x.Dim(1) != x.Dim(2)) throw new ArgumentException($"{op}: x {x} is not a square [B, g, g, D] grid");
        int b = x.Dim(0), d = x.Dim(3);
        Param(op, "conv1 weight", w.Conv1Weight, 4, "[D, C1, 2, 2]");
        Param(op, "conv2 weight", w.Conv2Weight, 4, "[C1, C, 2, 2]");
        int[] s1 = w.Conv1Weight.Shape, s2 = w.Conv2Weight.Shape;
        if (s1[0] != d || s1[2] != 2 || s1[3] != 2) throw new ArgumentException($"{op}: '{w.Conv1Weight.Name}' {ShapeUtil.Format(s1)} does not fit x {x}");
        int c1 = s1[1];
        if (s2[0] != c1 || s2[2] != 2 || s2[3] != 2) throw new ArgumentException($"{op}: '{w.Conv2Weight.Name}' {ShapeUtil.Format(s2)} does not follow {c1} channels");
        int c = s2[1];
        if (w.Conv1Bias.Length != c1 || w.NormWeight.Length != c1 || w.NormBias.Length != c1 || w.Conv2Bias.Length != c)
            throw new ArgumentException($"{op}: biases or norm of {c1} / {c} channels do not fit");
        if (hyper.Dim(0) != b || hyper.Dim(2) != c) throw new ArgumentException($"{op}: hypernetwork output {hyper} does not fit [{b}, M, {c}]");
        int g = x.Dim(1);
        if ((featS1 is null) != (featS0 is null)) throw new ArgumentException($"{op}: the high-resolution features come as a pair (feat_s0 and feat_s1), not one alone");
        if (featS1 is not null && !featS1.Shape.AsSpan().SequenceEqual([1, 2 * g, 2 * g, c1]))
            throw new ArgumentException($"{op}: feat_s1 {featS1} does not fit [1, {2 * g}, {2 * g}, {c1}]");
        if (featS0 is not null && !featS0.Shape.AsSpan().SequenceEqual([1, 4 * g, 4 * g, c]))
            throw new ArgumentException($"{op}: feat_s0 {featS0} does not fit [1, {4 * g}, {4 * g}, {c}]");
        return (b, g, d, c1, c, hyper.Dim(1));
    }

    /// <summary>
    /// An image side [1 or B, N, Din] projected to C channels by <paramref name="weight"/> [C, Din] and
    /// <paramref name="bias"/> [C] (both null: already C wide), against tokens [B, T, C] (T ≥ 1) split
    /// into <paramref name="heads"/> heads → (B, N, T, C, Din).
    /// </summary>
    private static (int Batch, int N, int T, int C, int Din) CrossAttention(string op, Tensor image, string imageName, Parameter? weight, Parameter? bias,
        Tensor tokens, int heads)
    {
        Rank(op, imageName, image, 3, "[1 or B, N, Din]");
        Rank(op, "tokens", tokens, 3, "[B, T, C]");
        int b = tokens.Dim(0), t = tokens.Dim(1), c = tokens.Dim(2), din = image.Dim(2);
        if (image.Dim(0) != 1 && image.Dim(0) != b) throw new ArgumentException($"{op}: the batch of {imageName} {image} is neither 1 nor that of the tokens {tokens}");
        if (t == 0) throw new ArgumentException($"{op}: tokens {tokens} hold no token");
        Heads(op, c, heads);
        if (weight is null)
        {
            if (bias is not null) throw new ArgumentException($"{op}: bias '{bias.Name}' of {imageName} without a projection weight");
            if (din != c) throw new ArgumentException($"{op}: {imageName} {image} is not projected and does not have the tokens' {c} channels");
        }
        else
        {
            Param(op, $"{imageName} projection", weight, 2, "[C, Din]");
            if (weight.Shape[0] != c || weight.Shape[1] != din)
                throw new ArgumentException($"{op}: {imageName} {image} projected by '{weight.Name}' {ShapeUtil.Format(weight.Shape)} does not give the tokens' {c} channels");
            Vector(op, $"{imageName} projection bias", bias, c);
        }
        return (b, image.Dim(1), t, c, din);
    }

    /// <summary>
    /// The geometry of a windowed attention over a packed qkv grid (<see cref="IBackend.HieraAttention"/>;
    /// the ViT's is the unpooled case): key windows tile the zero-padded grid, query windows the output grid.
    /// </summary>
    /// <param name="H">Grid height of the qkv.</param>
    /// <param name="W">Grid width of the qkv.</param>
    /// <param name="C">Channels of q, k and v each.</param>
    /// <param name="HeadDim">Channels per head.</param>
    /// <param name="WindowH">Key window height (the grid's for global attention).</param>
    /// <param name="WindowW">Key window width.</param>
    /// <param name="OutH">Output grid height (H/2 when the queries are pooled).</param>
    /// <param name="OutW">Output grid width.</param>
    /// <param name="QueryWindowH">Query window height (WindowH/2 when pooled).</param>
    /// <param name="QueryWindowW">Query window width.</param>
    public readonly record struct AttentionWindows(int H, int W, int C, int HeadDim, int WindowH, int WindowW,
        int OutH, int OutW, int QueryWindowH, int QueryWindowW)
    {
        /// <summary>Windows per grid row and per grid column (the same on both sides of the pooling).</summary>
        public int WindowsX => (W + WindowW - 1) / WindowW;
        /// <inheritdoc cref="WindowsX" />
        public int WindowsY => (H + WindowH - 1) / WindowH;
    }

    /// <summary>
    /// Hiera attention over a packed qkv [1, H, W, 3C] with <paramref name="heads"/> heads and qkv bias
    /// [3C] in windows of <paramref name="windowSize"/> (0: the whole grid), the queries optionally
    /// max-pooled 2x2. Pooled windows must tile the pooled grid in as many windows as the keys' windows
    /// tile the grid (upstream's unpartition needs it, and every Hiera grid meets it).
    /// </summary>
    public static AttentionWindows HieraAttention(Tensor qkv, int heads, int windowSize, bool poolQuery, Parameter qkvBias)
    {
        const string op = "HieraAttention";
        Rank(op, "qkv", qkv, 4, "[1, H, W, 3C]");
        int h = qkv.Dim(1), w = qkv.Dim(2), c3 = qkv.Dim(3);
        if (qkv.Dim(0) != 1 || heads < 1 || c3 % (3 * heads) != 0 || c3 == 0 || h == 0 || w == 0)
            throw new ArgumentException($"{op}: qkv {qkv} is not [1, H, W, 3C] with C split into {heads} heads");
        if (windowSize < 0) throw new ArgumentException($"{op}: window size {windowSize} is negative");
        int c = c3 / 3;
        Vector(op, "qkvBias", qkvBias, c3);
        int wh = windowSize > 0 ? windowSize : h, ww = windowSize > 0 ? windowSize : w;
        if (!poolQuery) return new(h, w, c, c / heads, wh, ww, h, w, wh, ww);
        int oh = h / 2, ow = w / 2, qh = wh / 2, qw = ww / 2;
        if (oh == 0 || ow == 0 || qh == 0 || qw == 0)
            throw new ArgumentException($"{op}: queries of qkv {qkv} in {wh}x{ww} windows cannot be pooled 2x2");
        if ((h + wh - 1) / wh != (oh + qh - 1) / qh || (w + ww - 1) / ww != (ow + qw - 1) / qw)
            throw new ArgumentException($"{op}: {wh}x{ww} windows over a {h}x{w} grid do not line up with {qh}x{qw} windows over the pooled {oh}x{ow} grid");
        return new(h, w, c, c / heads, wh, ww, oh, ow, qh, qw);
    }

    /// <summary>x [B, H, W, C] with H, W ≥ 2 → the pooled shape [B, H/2, W/2, C].</summary>
    public static int[] MaxPool2x2(Tensor x)
    {
        const string op = "MaxPool2x2";
        Rank(op, "x", x, 4, "[B, H, W, C]");
        if (x.Dim(1) < 2 || x.Dim(2) < 2) throw new ArgumentException($"{op}: x {x} is smaller than the 2x2 window");
        return [x.Dim(0), x.Dim(1) / 2, x.Dim(2) / 2, x.Dim(3)];
    }

    /// <summary>x [B, H, W, C] and coarse [B, H/2, W/2, C] (H, W even) → (B, H, W, C).</summary>
    public static (int Batch, int H, int W, int C) AddUpsampled2x(Tensor x, Tensor coarse)
    {
        const string op = "AddUpsampled2x";
        Rank(op, "x", x, 4, "[B, H, W, C]");
        Rank(op, "coarse", coarse, 4, "[B, H/2, W/2, C]");
        int b = x.Dim(0), h = x.Dim(1), w = x.Dim(2), c = x.Dim(3);
        if (coarse.Dim(0) != b || 2 * coarse.Dim(1) != h || 2 * coarse.Dim(2) != w || coarse.Dim(3) != c)
            throw new ArgumentException($"{op}: coarse {coarse} upsampled 2x does not match x {x}");
        return (b, h, w, c);
    }

    private static void Rank(string op, string arg, Tensor x, int rank, string layout)
    {
        if (x is null) throw new ArgumentNullException(arg, $"{op}: {arg} is null");
        if (x.Rank != rank) throw new ArgumentException($"{op}: {arg} must be {layout}, got {x}");
    }

    private static void AtLeast(string op, string arg, Tensor x, int rank, string layout)
    {
        if (x is null) throw new ArgumentNullException(arg, $"{op}: {arg} is null");
        if (x.Rank < rank) throw new ArgumentException($"{op}: {arg} must be {layout}, got {x}");
    }

    private static void Param(string op, string arg, Parameter p, int rank, string layout)
    {
        if (p is null) throw new ArgumentNullException(arg, $"{op}: {arg} is null");
        if (p.Shape.Length != rank || p.Shape.Any(d => d < 1)) throw new ArgumentException($"{op}: {arg} '{p.Name}' must be {layout}, got {ShapeUtil.Format(p.Shape)}");
    }

    /// <summary>An optional per-channel parameter must hold exactly <paramref name="length"/> values.</summary>
    private static void Vector(string op, string arg, Parameter? p, int length)
    {
        if (p is not null && p.Length != length) throw new ArgumentException($"{op}: {arg} '{p.Name}' {ShapeUtil.Format(p.Shape)} does not hold {length} values");
    }

    private static void Heads(string op, int channels, int heads)
    {
        if (heads < 1 || channels % heads != 0 || channels == 0) throw new ArgumentException($"{op}: {channels} channels cannot be split into {heads} heads");
    }

    private static void Broadcast(string op, string arg, Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b, arg);
        if (b.Rank > a.Rank || !a.Shape.AsSpan(a.Rank - b.Rank).SequenceEqual(b.Shape))
            throw new ArgumentException($"{op}: cannot add {arg} {b} to {a} (its shape must end {a}'s)");
    }

    private static void Defined(string op, Activation act)
    {
        if (!Enum.IsDefined(act)) throw new ArgumentException($"{op}: unknown activation {(int)act}");
    }

    private static void Dimensions(string op, int[] shape)
    {
        if (shape is null) throw new ArgumentNullException(nameof(shape), $"{op}: no shape");
        foreach (int d in shape)
            if (d < 0) throw new ArgumentException($"{op}: shape {ShapeUtil.Format(shape)} has a negative dimension");
    }

    /// <summary>x [B, H, W, Cin] with weight [Cout, Cin, kh, kw] and a BatchNorm over Cout; a residual must have the output's shape.</summary>
    public static (int Batch, int H, int W, int Cin, int Cout, int KernelH, int KernelW, int OutH, int OutW) Conv2dBn(
        Tensor x, Parameter weight, BatchNorm bn, int stride, int padding, Activation act, Tensor? residual)
    {
        const string op = "Conv2dBn";
        var g = Conv2d(x, weight, null, stride, padding);
        Norm(op, bn, g.Cout);
        Defined(op, act);
        if (residual is not null && !residual.Shape.AsSpan().SequenceEqual([g.Batch, g.OutH, g.OutW, g.Cout]))
            throw new ArgumentException($"{op} '{weight.Name}': residual {residual} does not match the output [{g.Batch}, {g.OutH}, {g.OutW}, {g.Cout}]");
        return g;
    }

    /// <summary>x [B, H, W, C] with weight [C, 1, k, k] (k odd) and a BatchNorm over C → (B, H, W, C, k, Ho, Wo).</summary>
    public static (int Batch, int H, int W, int C, int Kernel, int OutH, int OutW) DepthwiseConv2dBn(Tensor x, Parameter weight, BatchNorm bn, int stride, Activation act)
    {
        const string op = "DepthwiseConv2dBn";
        Rank(op, "x", x, 4, "[B, H, W, C]");
        Param(op, "weight", weight, 4, "[C, 1, k, k]");
        int c = x.Dim(3), k = weight.Shape[2];
        if (weight.Shape[0] != c || weight.Shape[1] != 1 || weight.Shape[3] != k || k % 2 == 0)
            throw new ArgumentException($"{op}: weight '{weight.Name}' {ShapeUtil.Format(weight.Shape)} is not [C, 1, k, k] with odd k for x {x}");
        if (stride < 1) throw new ArgumentException($"{op} '{weight.Name}': stride {stride} must be positive");
        Norm(op, bn, c);
        Defined(op, act);
        return (x.Dim(0), x.Dim(1), x.Dim(2), c, k, (x.Dim(1) - 1) / stride + 1, (x.Dim(2) - 1) / stride + 1);
    }

    /// <summary>
    /// x [B, H, W, C] through expand [E, C, 1, 1], depthwise [E, 1, k, k] (k odd) at the stride and
    /// project [Cout, E, 1, 1], each with a BatchNorm over its outputs → (B, H, W, C, E, Cout, k, Ho, Wo).
    /// </summary>
    public static (int Batch, int H, int W, int C, int Hidden, int Cout, int Kernel, int OutH, int OutW) InvertedBottleneck(
        Tensor x, InvertedBottleneckWeights w, Activation act, Tensor? residual)
    {
        const string op = "InvertedBottleneck";
        Rank(op, "x", x, 4, "[B, H, W, C]");
        Param(op, "expand", w.Expand, 4, "[E, C, 1, 1]");
        Param(op, "depthwise", w.Depthwise, 4, "[E, 1, k, k]");
        Param(op, "project", w.Project, 4, "[Cout, E, 1, 1]");
        int c = x.Dim(3), e = w.Expand.Shape[0], k = w.Depthwise.Shape[2], cout = w.Project.Shape[0];
        if (w.Expand.Shape[1] != c || w.Expand.Shape[2] != 1 || w.Expand.Shape[3] != 1)
            throw new ArgumentException($"{op}: expand weight '{w.Expand.Name}' {ShapeUtil.Format(w.Expand.Shape)} is not [E, {c}, 1, 1] for x {x}");
        if (w.Depthwise.Shape[0] != e || w.Depthwise.Shape[1] != 1 || w.Depthwise.Shape[3] != k || k % 2 == 0)
            throw new ArgumentException($"{op}: depthwise weight '{w.Depthwise.Name}' {ShapeUtil.Format(w.Depthwise.Shape)} is not [{e}, 1, k, k] with odd k");
        if (w.Project.Shape[1] != e || w.Project.Shape[2] != 1 || w.Project.Shape[3] != 1)
            throw new ArgumentException($"{op}: project weight '{w.Project.Name}' {ShapeUtil.Format(w.Project.Shape)} is not [Cout, {e}, 1, 1]");
        if (w.Stride < 1) throw new ArgumentException($"{op} '{w.Depthwise.Name}': stride {w.Stride} must be positive");
        Norm(op, w.ExpandBn, e);
        Norm(op, w.DepthwiseBn, e);
        Norm(op, w.ProjectBn, cout);
        Defined(op, act);
        int b = x.Dim(0), h = x.Dim(1), wd = x.Dim(2), ho = (h - 1) / w.Stride + 1, wo = (wd - 1) / w.Stride + 1;
        if (residual is not null && !residual.Shape.AsSpan().SequenceEqual([b, ho, wo, cout]))
            throw new ArgumentException($"{op} '{w.Project.Name}': residual {residual} does not match the output [{b}, {ho}, {wo}, {cout}]");
        return (b, h, wd, c, e, cout, k, ho, wo);
    }

    /// <summary>
    /// qkv [1, H, W, heads·3d], padQkv [heads·3d], biases [heads, w²] → (H, W, d, padded H, padded W).
    /// </summary>
    public static (int H, int W, int HeadDim, int PaddedH, int PaddedW) TinyVitAttention(Tensor qkv, Tensor padQkv, int heads, int windowSize, Parameter attentionBiases)
    {
        const string op = "TinyVitAttention";
        Rank(op, "qkv", qkv, 4, "[1, H, W, heads·3d]");
        if (heads < 1 || windowSize < 1) throw new ArgumentException($"{op}: heads {heads} and window {windowSize} must be positive");
        int c3 = qkv.Dim(3);
        if (qkv.Dim(0) != 1 || c3 % (3 * heads) != 0 || c3 == 0) throw new ArgumentException($"{op}: qkv {qkv} is not [1, H, W, heads·3d] for {heads} heads");
        if (padQkv.Length != c3) throw new ArgumentException($"{op}: padQkv {padQkv} must hold {c3} values, one token's qkv");
        Param(op, "attentionBiases", attentionBiases, 2, "[heads, w²]");
        if (attentionBiases.Shape[0] != heads || attentionBiases.Shape[1] != windowSize * windowSize)
            throw new ArgumentException($"{op}: attention biases '{attentionBiases.Name}' {ShapeUtil.Format(attentionBiases.Shape)} do not fit {heads} heads and a {windowSize}x{windowSize} window");
        int h = qkv.Dim(1), w = qkv.Dim(2);
        return (h, w, c3 / (3 * heads), (h + windowSize - 1) / windowSize * windowSize, (w + windowSize - 1) / windowSize * windowSize);
    }

    private static void Norm(string op, BatchNorm bn, int c)
    {
        foreach (var p in new[] { bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar })
            if (p.Shape is not [var n] || n != c) throw new ArgumentException($"{op}: BatchNorm parameter '{p.Name}' {ShapeUtil.Format(p.Shape)} does not fit {c} channels");
    }
}
