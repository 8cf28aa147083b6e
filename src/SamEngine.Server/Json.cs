using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace SamEngine.Server;

/// <summary>The API's JSON: snake-case names, unknown fields refused, a body that does not parse reported by its field.</summary>
internal static class Json
{
    /// <summary>The serializer options of every request and response body.</summary>
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions());

    /// <summary>Applies the API's conventions to <paramref name="options"/> (also ASP.NET Core's own, for OpenAPI).</summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        // A misspelt option ("multi_mask") must not be silently ignored.
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.NumberHandling = JsonNumberHandling.Strict;
        return options;
    }

    /// <summary><c>MaskInput</c> → <c>mask_input</c>.</summary>
    public static string SnakeCase(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);

    /// <summary>
    /// Reads a JSON body of type <typeparamref name="T"/>; an empty body gives a new <typeparamref name="T"/>
    /// when <paramref name="emptyIsDefault"/>. A body that is not JSON, or a field of the wrong type, is a
    /// 400 naming the field (<c>points[0][1]</c>); a body over <paramref name="maxBytes"/> is a 413.
    /// </summary>
    public static async Task<T> ReadBody<T>(HttpRequest request, long maxBytes, bool emptyIsDefault) where T : new()
    {
        // No declared type is taken as JSON; another type is refused (a form post, a file sent to the wrong route).
        if (request.ContentType is { } type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw ApiProblem.Unsupported($"the body must be application/json, not {type} (send 'Content-Type: application/json')");
        byte[] body = await Upload.ReadAll(request.Body, request.ContentLength, maxBytes, "JSON body");
        if (body.Length == 0)
            return emptyIsDefault ? new T() : throw ApiProblem.BadRequest("the body is empty; a JSON object is needed");
        try
        {
            return JsonSerializer.Deserialize<T>(body, Options) ?? throw ApiProblem.BadRequest("the body is null; a JSON object is needed");
        }
        catch (JsonException e)
        {
            string field = FieldOf(e.Path);
            string why = e.Message.Split(" Path:")[0].Split(". LineNumber")[0].TrimEnd('.');
            if (field.Length == 0) throw ApiProblem.BadRequest($"the body is not valid JSON: {why}");
            throw ApiProblem.BadField(field, why);
        }
    }

    /// <summary><c>$.points[0][1]</c> → <c>points[0][1]</c>; <c>$</c> → empty.</summary>
    private static string FieldOf(string? path) => path is null or "$" ? "" : path.StartsWith("$.") ? path[2..] : path.TrimStart('$');
}
