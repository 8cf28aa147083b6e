using System.Globalization;

namespace SamEngine.Batch;

/// <summary>A double as Python's <c>str</c> / <c>repr</c> prints it: shortest round trip, <c>4.0</c> not <c>4</c>, <c>1e-05</c>, <c>nan</c>, <c>inf</c>.</summary>
public static class PythonFloat
{
    /// <summary>The text of <paramref name="value"/>.</summary>
    public static string Format(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        // .NET's shortest round trip has Python's digits; both write an exponent below 1e-4 (E-05 / e-05);
        // above, .NET's bound for an exponent is not Python's (1e16), so large numbers are rewritten.
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        double magnitude = Math.Abs(value);
        if (text.Contains('E'))
            return magnitude >= 1e16 || magnitude < 1e-4 ? text.Replace('E', 'e')
                : decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture) + ".0";
        if (magnitude >= 1e16)
        {
            // .NET wrote every digit of a large whole number; Python writes d.ddde+XX.
            string digits = text.TrimStart('-'), kept = digits.TrimEnd('0');
            string mantissa = kept.Length > 1 ? $"{kept[0]}.{kept[1..]}" : kept;
            return string.Create(CultureInfo.InvariantCulture, $"{(value < 0 ? "-" : "")}{mantissa}e+{digits.Length - 1:00}");
        }
        return text.Contains('.') ? text : text + ".0";
    }
}
