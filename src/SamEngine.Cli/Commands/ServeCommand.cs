using System.CommandLine;
using Microsoft.Extensions.Hosting;
using SamEngine.Server;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine serve</c>: the HTTP API and the click-to-segment page over one loaded model.</summary>
public static class ServeCommand
{
    /// <summary>The <c>serve</c> verb.</summary>
    public static Verb Create()
    {
        var defaults = new ServerOptions();
        var verb = new Verb("serve", "an HTTP API and a click-to-segment page over one loaded model", """
            samengine serve --model M [--backend NAME] [--host 127.0.0.1] [--port 8080] [--api-key KEY]
                            [--cache-mb N] [--cors ORIGIN] [--max-upload-mb N] [--max-pixels N] [--encoder-queue N]
            """, """
            Loads the model once and serves the page at / and the JSON API under /v1 (its OpenAPI document
            at /openapi/v1.json): upload an image (encoded once), then predict masks from points, boxes
            and earlier masks from the cached embedding, run automatic mask generation, download or upload
            embedding files. Only loopback is served unless --api-key is given; Ctrl+C stops the server.
            """);
        var model = new ModelOptions(verb);
        var host = CliOptions.Parsed("--host", "ADDR", "address to listen on; beyond loopback only with --api-key", defaults.Host, h => h);
        var port = CliOptions.Int("--port", "N", "TCP port (0: any free port, printed at start)", defaults.Port, minimum: 0);
        var apiKey = CliOptions.Text("--api-key", "KEY", "require 'Authorization: Bearer KEY' on every /v1 route (16 characters or more)");
        var cacheMb = CliOptions.Int("--cache-mb", "N", "embedding cache budget in MiB; least recently used images are forgotten beyond it", defaults.CacheMb, minimum: 1);
        var cors = CliOptions.Text("--cors", "ORIGIN", "allow browser pages of this origin (https://host[:port]) to call the API; default: no CORS");
        var maxUploadMb = CliOptions.Int("--max-upload-mb", "N", "largest upload (image or embedding) in MiB", (int)(defaults.MaxUploadBytes >> 20), minimum: 1);
        var maxPixels = CliOptions.Int("--max-pixels", "N", "largest image in pixels, checked before decoding", (int)defaults.MaxPixels, minimum: 1);
        var encoderQueue = CliOptions.Int("--encoder-queue", "N", "encoder jobs allowed to wait before uploads get 503", defaults.EncoderQueue, minimum: 0);
        foreach (var option in new Option[] { host, port, apiKey, cacheMb, cors, maxUploadMb, maxPixels, encoderQueue }) verb.Add(option);
        verb.SetAction(parsed =>
        {
            var options = new ServerOptions
            {
                Host = parsed.GetValue(host)!, Port = parsed.GetValue(port), ApiKey = parsed.GetValue(apiKey),
                CacheMb = parsed.GetValue(cacheMb), CorsOrigin = parsed.GetValue(cors),
                MaxUploadBytes = (long)parsed.GetValue(maxUploadMb) << 20, MaxPixels = parsed.GetValue(maxPixels),
                EncoderQueue = parsed.GetValue(encoderQueue),
            };
            return Run(parsed, model, options, parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error);
        });
        return verb;
    }

    private static int Run(ParseResult parsed, ModelOptions modelOptions, ServerOptions options, TextWriter stdout, TextWriter stderr)
    {
        // Refused before the model is loaded: a bad bind should not cost a minute of loading first.
        try { options.Validate(); }
        catch (ArgumentException e) { throw new UsageException($"serve: {e.Message}"); }
        using var model = modelOptions.Load(parsed, stderr);
        var app = ServerHost.Create(options, model);
        try { app.Start(); }
        catch (IOException e) { throw new IOException($"serve: cannot listen on {options.Host}:{options.Port}: {e.Message}", e); }
        stdout.WriteLine($"serve: {model.Description} on {model.Backend.Name}; listening on {string.Join(", ", ServerHost.Urls(app))} (Ctrl+C stops)");
        stdout.Flush();
        app.WaitForShutdown();
        ((IDisposable)app).Dispose();
        return 0;
    }
}
