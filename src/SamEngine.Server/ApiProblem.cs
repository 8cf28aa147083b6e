using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using SamEngine.Imaging;
using SamEngine.IO;
using SamEngine.Modeling;

namespace SamEngine.Server;

/// <summary>
/// A request the API refuses: becomes an RFC 9457 problem details answer with this status, a title
/// for the kind of problem and a one-line detail; <see cref="Field"/> names the request field at fault
/// (a 400), <see cref="RetryAfterSeconds"/> sets <c>Retry-After</c> (a 503).
/// </summary>
public sealed class ApiProblem(int status, string title, string detail) : Exception(detail)
{
    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>A short, fixed summary of the kind of problem.</summary>
    public string Title { get; } = title;

    /// <summary>The JSON field (snake case, with its index: <c>points[1]</c>) at fault, or null.</summary>
    public string? Field { get; init; }

    /// <summary>Seconds after which a retry may succeed (sent as <c>Retry-After</c>), or null.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>400: a field of the request is missing, malformed or out of range.</summary>
    public static ApiProblem BadField(string field, string detail) =>
        new(StatusCodes.Status400BadRequest, "invalid request field", $"{field}: {detail}") { Field = field };

    /// <summary>400: the request as a whole cannot be used.</summary>
    public static ApiProblem BadRequest(string detail) => new(StatusCodes.Status400BadRequest, "invalid request", detail);

    /// <summary>404: no image with this id (never uploaded, deleted, or evicted from the cache).</summary>
    public static ApiProblem UnknownImage(string id) =>
        new(StatusCodes.Status404NotFound, "unknown image", $"no image '{id}' (never uploaded, deleted, or evicted from the embedding cache: upload it again)");

    /// <summary>413: the upload is over a limit.</summary>
    public static ApiProblem TooLarge(string detail) => new(StatusCodes.Status413PayloadTooLarge, "upload too large", detail);

    /// <summary>415: the upload is not a readable image (or not of a type this route takes).</summary>
    public static ApiProblem Unsupported(string detail) => new(StatusCodes.Status415UnsupportedMediaType, "unsupported media", detail);

    /// <summary>503: the encoder queue is full.</summary>
    public static ApiProblem Busy(string detail, int retryAfterSeconds) =>
        new(StatusCodes.Status503ServiceUnavailable, "encoder busy", detail) { RetryAfterSeconds = retryAfterSeconds };
}

/// <summary>
/// Turns every exception that escapes a route into problem details: <see cref="ApiProblem"/> as it says,
/// the engine's input errors (a prompt out of the image, a malformed embedding file) as 400, anything
/// else as a 500 whose detail is one line and never a stack trace.
/// </summary>
internal sealed class ApiProblemHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancel)
    {
        var problem = exception switch
        {
            ApiProblem p => p,
            PromptException p => ApiProblem.BadField(p.Field is null ? "prompt" : Json.SnakeCase(p.Field), p.Message),
            ImageLoadException { OverPixelLimit: true } e => ApiProblem.TooLarge(e.Message),
            ImageLoadException e => ApiProblem.Unsupported(e.Message),
            SafeTensorsException e => ApiProblem.BadRequest(e.Message),
            ArgumentException e => ApiProblem.BadRequest(e.Message),
            BadHttpRequestException e => new ApiProblem(e.StatusCode, "bad request", e.Message),
            _ => new ApiProblem(StatusCodes.Status500InternalServerError, "internal error", $"the server failed: {exception.GetType().Name}: {OneLine(exception.Message)}"),
        };
        await Write(http, problems, problem);
        return true;
    }

    /// <summary>Writes <paramref name="problem"/> as the response.</summary>
    public static async Task Write(HttpContext http, IProblemDetailsService problems, ApiProblem problem)
    {
        http.Response.StatusCode = problem.Status;
        if (problem.RetryAfterSeconds is { } seconds) http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var details = new ProblemDetails { Status = problem.Status, Title = problem.Title, Detail = OneLine(problem.Message) };
        if (problem.Field is not null) details.Extensions["field"] = problem.Field;
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = details, Exception = problem });
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
