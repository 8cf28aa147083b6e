using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SamEngine.Modeling;

namespace SamEngine.Server.Routes;

/// <summary><c>GET /healthz</c> (the process serves a loaded model) and <c>GET /readyz</c> (an upload would be taken now).</summary>
internal static class HealthRoutes
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", (SamModel model) => new Health("ok", model.Description, model.Backend.Name, model.Backend.Device))
            .WithName("Health")
            .WithTags("health")
            .WithSummary("200 while the model is loaded and the server answers");
        app.MapGet("/readyz", Ready)
            .WithName("Readiness")
            .WithTags("health")
            .WithSummary("200 when an upload would be queued now; 503 with Retry-After while the encoder queue is full")
            .Produces<Readiness>()
            .Produces<Readiness>(StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult Ready(HttpContext http, EncoderQueue queue, ImageCache cache)
    {
        bool full = queue.IsFull;
        var state = new Readiness(full ? "busy" : "ready", queue.Depth, queue.Capacity, cache.Count, cache.Bytes, cache.CapacityBytes);
        if (!full) return Results.Ok(state);
        http.Response.Headers.RetryAfter = queue.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Json(state, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
