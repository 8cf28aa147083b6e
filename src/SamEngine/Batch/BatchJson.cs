using System.Text.Encodings.Web;
using System.Text.Json;

namespace SamEngine.Batch;

/// <summary>How the batch files write JSON: compact, non-ASCII and quotes as themselves (file names stay readable), not as \u escapes.</summary>
public static class BatchJson
{
    /// <summary>The writer options of every batch file.</summary>
    public static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The same, indented (shard.json, read by people).</summary>
    public static readonly JsonWriterOptions Indented = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };
}
