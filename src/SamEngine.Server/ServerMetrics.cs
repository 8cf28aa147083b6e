using System.Diagnostics.Metrics;

namespace SamEngine.Server;

/// <summary>
/// The server's own instruments (meter <see cref="MeterName"/>), exported with ASP.NET Core's request
/// metrics at <c>/metrics</c>: encoder and decoder times, queue depth, cache bytes and evictions.
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "SamEngine.Server";

    /// <summary>Creates the instruments on a meter from <paramref name="meters"/>.</summary>
    public ServerMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        EncodeSeconds = Seconds(meter, "samengine.encode.duration", "image encoder time per upload");
        DecodeSeconds = Seconds(meter, "samengine.decode.duration", "decoder time per predict request (waiting for a decoder slot included)");
        AmgSeconds = Seconds(meter, "samengine.amg.duration", "automatic mask generation time per request");
        EncoderRejected = meter.CreateCounter<long>("samengine.encoder.rejected", "{request}", "encoder requests refused with 503 because the queue was full");
        CacheEvictions = meter.CreateCounter<long>("samengine.cache.evictions", "{image}", "images forgotten to stay within --cache-mb");
        Meter = meter;
    }

    // Buckets from a decoder's milliseconds to a large image's AMG minutes (the exporter's default ones are for milliseconds).
    private static readonly double[] SecondBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private static Histogram<double> Seconds(Meter meter, string name, string description) =>
        meter.CreateHistogram(name, "s", description, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondBuckets });

    /// <summary>The meter, for the observable instruments registered by their owners.</summary>
    public Meter Meter { get; }

    /// <summary>Image encoder seconds per upload.</summary>
    public Histogram<double> EncodeSeconds { get; }

    /// <summary>Decoder seconds per predict.</summary>
    public Histogram<double> DecodeSeconds { get; }

    /// <summary>Mask generation seconds per AMG request.</summary>
    public Histogram<double> AmgSeconds { get; }

    /// <summary>Encoder requests refused with 503.</summary>
    public Counter<long> EncoderRejected { get; }

    /// <summary>Images evicted from the cache.</summary>
    public Counter<long> CacheEvictions { get; }

    /// <summary>Reports the cache's and the queue's levels as gauges.</summary>
    public void Observe(ImageCache cache, EncoderQueue queue)
    {
        Meter.CreateObservableGauge("samengine.cache.bytes", () => cache.Bytes, "By", "bytes held by the embedding cache");
        Meter.CreateObservableGauge("samengine.cache.images", () => cache.Count, "{image}", "images held by the embedding cache");
        Meter.CreateObservableGauge("samengine.encoder.queue.depth", () => queue.Depth, "{request}", "encoder requests waiting or running");
    }
}
