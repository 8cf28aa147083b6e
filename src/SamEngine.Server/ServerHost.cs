using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using SamEngine.Modeling;
using SamEngine.Server.Routes;

namespace SamEngine.Server;

/// <summary>
/// Builds the <c>samengine serve</c> web application over a loaded model: Kestrel bound as
/// <see cref="ServerOptions"/> says, the JSON API under <c>/v1</c>, health, metrics, the OpenAPI document
/// and the page at <c>/</c>.
/// </summary>
public static class ServerHost
{
    /// <summary>
    /// The application, not yet started. <paramref name="configure"/> may change the builder last (tests
    /// put a TestServer in place of Kestrel). The model stays the caller's to dispose, after the application.
    /// </summary>
    public static WebApplication Create(ServerOptions options, SamModel model, Action<WebApplicationBuilder>? configure = null)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(ServerHost).Assembly.GetName().Name });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Multipart framing on top of the largest image; the routes hold the image itself to the limit.
            kestrel.Limits.MaxRequestBodySize = options.MaxUploadBytes + 64 * 1024;
            if (options.Host == "localhost") kestrel.ListenLocalhost(options.Port);
            else kestrel.Listen(IPAddress.Parse(options.Host), options.Port);
        });

        var services = builder.Services;
        services.ConfigureHttpJsonOptions(json => Json.Configure(json.SerializerOptions));
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiProblemHandler>();
        services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "SamEngine";
            document.Info.Description = "Segment Anything over HTTP: upload an image once, then ask for masks from points, boxes and earlier masks.";
            return Task.CompletedTask;
        }));
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(ServerMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        if (options.CorsOrigin is { } origin)
            services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.WithOrigins(origin).AllowAnyHeader().AllowAnyMethod().WithExposedHeaders("Retry-After", "Location")));

        services.AddSingleton(options);
        services.AddSingleton(model);
        services.AddSingleton<ServerMetrics>();
        services.AddSingleton(sp => new BackendGate(model.Backend, options.DecoderConcurrency));
        services.AddSingleton(sp => new EncoderQueue(options.EncoderQueue, sp.GetRequiredService<BackendGate>(), sp.GetRequiredService<ServerMetrics>()));
        services.AddSingleton(sp => new ImageCache(options.CacheBytes, sp.GetRequiredService<ServerMetrics>()));
        configure?.Invoke(builder);

        var app = builder.Build();
        app.Services.GetRequiredService<ServerMetrics>().Observe(app.Services.GetRequiredService<ImageCache>(), app.Services.GetRequiredService<EncoderQueue>());
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        if (options.CorsOrigin is not null) app.UseCors();
        if (options.ApiKey is { } key) app.UseMiddleware<ApiKeyCheck>(key);

        ImageRoutes.Map(app);
        PredictRoutes.Map(app);
        AmgRoutes.Map(app);
        EmbeddingRoutes.Map(app);
        HealthRoutes.Map(app);
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapPrometheusScrapingEndpoint("/metrics");
        StaticPage.Map(app);
        return app;
    }

    /// <summary>The addresses the started application listens on (with the port picked for port 0).</summary>
    public static IReadOnlyCollection<string> Urls(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
}
