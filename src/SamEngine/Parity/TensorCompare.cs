using System.Globalization;

namespace SamEngine.Parity;

/// <summary>The result of comparing one engine tensor with its reference.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Metric">Which limit applies (see <see cref="TensorCompare"/>).</param>
/// <param name="RelL2">‖engine − reference‖₂ / ‖reference‖₂ in float64.</param>
/// <param name="MaxAbs">Largest absolute difference.</param>
/// <param name="EqualShare">Share of exactly equal elements (bytes or mask pixels).</param>
/// <param name="Limit">The limit of the metric.</param>
/// <param name="Passed">Whether the metric is within its limit.</param>
/// <param name="Detail">First mismatches or a shape error.</param>
public sealed record Comparison(string Name, string Metric, double RelL2, double MaxAbs, double EqualShare, double Limit, bool Passed, string Detail);

/// <summary>Compute precision of a parity run; selects the column of limits.</summary>
public enum Precision
{
    /// <summary>float32 activations.</summary>
    Fp32,
    /// <summary>float16 activations.</summary>
    Fp16,
    /// <summary>
    /// int8 weights and activations in the linear layers of SAM 1's ViT encoder (the cpu backend), fp32
    /// elsewhere; held to the fp16 column of limits.
    /// </summary>
    Int8,
}

/// <summary>The names of <see cref="Precision"/> in the CLI's <c>--precision</c> and in embedding files.</summary>
public static class PrecisionNames
{
    /// <summary>fp32, fp16 or int8.</summary>
    public static string Name(this Precision p) => p switch
    {
        Precision.Fp16 => "fp16",
        Precision.Int8 => "int8",
        _ => "fp32",
    };

    /// <summary>The precision named <paramref name="text"/>, or null when it names none.</summary>
    public static Precision? Parse(string text) => Enum.GetValues<Precision>().Where(p => p.Name() == text).Cast<Precision?>().FirstOrDefault();

    /// <summary>The names, for messages: "fp32, fp16 or int8".</summary>
    public const string List = "fp32, fp16 or int8";
}

/// <summary>
/// The one comparison helper of the project, with the limits of <c>engine-contracts.md</c> (fp32 / fp16,
/// which int8 is held to as well):
/// <list type="bullet">
/// <item><c>input_resized</c>: at least 99.9% of bytes equal and none off by more than 1;</item>
/// <item><c>*.masks</c>: at least 99.9% (fp32) / 99.5% (fp16 and int8) of pixels equal;</item>
/// <item><c>*.iou_predictions</c> and SAM 2.1's <c>*.object_score_logits</c>: max abs ≤ 1e-4 / 1e-2;</item>
/// <item>tensors the reference stores as float16: rel L2 ≤ 1e-3 / 1e-2;</item>
/// <item>every other float tensor: rel L2 ≤ 1e-4 / 1e-2.</item>
/// </list>
/// Every tensor must also hold only finite values, on both sides: a NaN would otherwise slip through
/// the max-abs check, and a reference holding NaN or infinity cannot vouch for anything.
/// </summary>
public static class TensorCompare
{
    /// <summary>Compares <paramref name="engine"/> with <paramref name="reference"/>.</summary>
    public static Comparison Compare(string name, float[] engine, float[] reference, bool referenceIsFp16, Precision precision)
    {
        if (engine.Length != reference.Length)
            return new Comparison(name, "shape", double.NaN, double.NaN, 0, 0, false, $"engine has {engine.Length} values, reference {reference.Length}");
        double diff2 = 0, ref2 = 0, maxAbs = 0;
        long equal = 0;
        var firstBad = new List<string>();
        string? nonFinite = null;
        for (int i = 0; i < engine.Length; i++)
        {
            if (nonFinite is null && !(float.IsFinite(engine[i]) && float.IsFinite(reference[i])))
                nonFinite = float.IsFinite(engine[i]) ? $"reference value [{i}] is {reference[i].ToString(CultureInfo.InvariantCulture)}"
                    : $"engine value [{i}] is {engine[i].ToString(CultureInfo.InvariantCulture)}";
            double d = (double)engine[i] - reference[i];
            diff2 += d * d;
            ref2 += (double)reference[i] * reference[i];
            double ad = Math.Abs(d);
            if (ad > maxAbs) maxAbs = ad;
            if (engine[i] == reference[i]) equal++;
            else if (firstBad.Count < 3) firstBad.Add($"[{i}] {engine[i]:G7} vs {reference[i]:G7}");
        }
        double rel = Math.Sqrt(diff2) / Math.Max(Math.Sqrt(ref2), 1e-30);
        double share = engine.Length == 0 ? 1 : (double)equal / engine.Length;
        string detail = firstBad.Count == 0 ? "" : "first differences: " + string.Join(", ", firstBad);
        var (metric, limit, passed) = Limit(name, precision, referenceIsFp16, rel, maxAbs, share);
        if (nonFinite is not null)
            return new Comparison(name, metric, rel, maxAbs, share, limit, false, $"'{name}': {nonFinite}" + (detail.Length == 0 ? "" : "; " + detail));
        return new Comparison(name, metric, rel, maxAbs, share, limit, passed, detail);
    }

    /// <summary>The metric that applies to <paramref name="name"/>, its limit and whether the measures meet it.</summary>
    private static (string Metric, double Limit, bool Passed) Limit(string name, Precision precision, bool referenceIsFp16,
        double rel, double maxAbs, double share)
    {
        bool fp32 = precision == Precision.Fp32;
        if (name == "input_resized")
            return ("bytes equal", 0.999, share >= 0.999 && maxAbs <= 1);
        if (name.EndsWith(".masks", StringComparison.Ordinal))
        {
            double limit = fp32 ? 0.999 : 0.995;
            return ("pixels equal", limit, share >= limit);
        }
        if (name.EndsWith(".iou_predictions", StringComparison.Ordinal) || name.EndsWith(".object_score_logits", StringComparison.Ordinal))
        {
            double limit = fp32 ? 1e-4 : 1e-2;
            return ("max abs", limit, maxAbs <= limit);
        }
        double relLimit = fp32 ? (referenceIsFp16 ? 1e-3 : 1e-4) : 1e-2;
        return ("rel L2", relLimit, rel <= relLimit);
    }
}
