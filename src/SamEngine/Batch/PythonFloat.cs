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
        // .NET's shortest round trip has Python's digits; it writes an exponent (as E-05, E+16) from 1e15 and
        // below 1e-4, Python from 1e16 and below 1e-4.
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        double magnitude = Math.Abs(value);
        if (text.Contains('E'))
            return magnitude >= 1e16 || magnitude < 1e-4 ? text.Replace('E', 'e')
                : decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture) + ".0";
        return text.Contains('.') ? text : text + ".0";
    }
}
