using System.Net;

namespace SamEngine.Server;

/// <summary>
/// What <c>samengine serve</c> was asked for: where to listen, who may call, and how much memory and
/// work the server may take on. <see cref="Validate"/> refuses an unsafe or impossible combination.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>The address to bind (<c>127.0.0.1</c>, <c>localhost</c>, <c>::1</c>, or a non-loopback one with an API key).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The TCP port; 0 picks a free one (see <see cref="ServerHost.Urls"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>When set, every <c>/v1</c> route needs <c>Authorization: Bearer</c> this key.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The embedding cache's budget in MiB: least recently used images are forgotten beyond it.</summary>
    public int CacheMb { get; init; } = 1024;

    /// <summary>The one origin allowed to call the API from a browser page on another origin; null: no CORS.</summary>
    public string? CorsOrigin { get; init; }

    /// <summary>The largest upload (image or embedding file) in bytes.</summary>
    public long MaxUploadBytes { get; init; } = 64L << 20;

    /// <summary>The largest image in pixels, checked from its header before it is decoded.</summary>
    public long MaxPixels { get; init; } = 40_000_000;

    /// <summary>Encoder jobs (uploads, AMG) allowed to wait behind the running one before new ones get 503.</summary>
    public int EncoderQueue { get; init; } = 4;

    /// <summary>Decoder requests run at once (more wait their turn); a GPU backend runs one at a time.</summary>
    public int DecoderConcurrency { get; init; } = Environment.ProcessorCount;

    /// <summary>Predictions per image whose low-res logits are kept for <c>mask_input</c>.</summary>
    public int ResultsPerImage { get; init; } = 16;

    /// <summary>True when <see cref="Host"/> is a loopback address or <c>localhost</c>.</summary>
    public bool IsLoopback => Host == "localhost" || (IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>Throws <see cref="ArgumentException"/> naming the option at fault.</summary>
    public void Validate()
    {
        if (!IsLoopback && Host != "localhost" && !IPAddress.TryParse(Host, out _))
            throw new ArgumentException($"--host '{Host}' is not an IP address or 'localhost'");
        if (!IsLoopback && string.IsNullOrEmpty(ApiKey))
            throw new ArgumentException($"--host {Host} is not a loopback address: serving beyond this machine needs --api-key KEY (clients send 'Authorization: Bearer KEY')");
        if (ApiKey is { Length: < 16 })
            throw new ArgumentException("--api-key needs at least 16 characters");
        if (Port is < 0 or > 65535) throw new ArgumentException($"--port {Port} is not a TCP port (0 to 65535)");
        if (CacheMb < 1) throw new ArgumentException($"--cache-mb {CacheMb} must be at least 1");
        if (CorsOrigin is not null && !(Uri.TryCreate(CorsOrigin, UriKind.Absolute, out var origin)
                                        && origin.Scheme is "http" or "https" && origin.AbsolutePath == "/" && CorsOrigin.TrimEnd('/') == origin.GetLeftPart(UriPartial.Authority)))
            throw new ArgumentException($"--cors '{CorsOrigin}' is not an origin like https://example.org");
        if (MaxUploadBytes < 1) throw new ArgumentException("the upload limit must be positive");
        if (MaxPixels < 1) throw new ArgumentException("the pixel limit must be positive");
        if (EncoderQueue < 0) throw new ArgumentException("the encoder queue length must be 0 or more");
        if (DecoderConcurrency < 1) throw new ArgumentException("the decoder concurrency must be at least 1");
        if (ResultsPerImage < 1) throw new ArgumentException("results kept per image must be at least 1");
    }

    /// <summary>The cache budget in bytes.</summary>
    public long CacheBytes => (long)CacheMb << 20;
}
