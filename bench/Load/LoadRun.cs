using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SamEngine.Imaging;
using SixLabors.ImageSharp;

namespace SamEngine.Bench.Load;

/// <summary>
/// <c>load</c>: N clients on loopback against a real <c>samengine serve</c> for a bounded time, each
/// uploading an image now and then and clicking on it in between (points, refinements, boxes), as
/// people on the page would. Reports throughput, p50 / p99 per endpoint, errors and the server's peak
/// resident memory.
/// </summary>
internal static class LoadRun
{
    private const string Usage =
        "usage: load --model M [--arch FILE] [--backend cpu] [--cache-mb N] [--clients 8] [--seconds 30]\n" +
        "            [--image PNG] [--upload-every 10] [--seed 0]";

    public static async Task<int> RunAsync(string[] args)
    {
        LoadOptions options;
        try
        {
            options = LoadOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"load: {e.Message}\n{Usage}");
            return 2;
        }

        var variants = ImageVariants(options.Image, count: 16, options.Seed);
        Console.WriteLine($"load: {options.Clients} clients for {options.Seconds} s, an upload every {options.UploadEvery} requests per client, " +
            $"{variants.Count} variants of {Path.GetFileName(options.Image)} ({variants[0].Length / 1024} KiB)");
        Console.WriteLine($"load average before: {File.ReadAllText("/proc/loadavg").Trim()}");

        ServerUnderLoad server;
        try
        {
            server = await ServerUnderLoad.StartAsync(options.ServeArgs(), TimeSpan.FromMinutes(5));
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"load: {e.Message.Trim()}");
            return 1;
        }
        using var started = server;
        long idle = server.ResidentBytes;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Clients * 2 })
        {
            BaseAddress = new Uri(server.BaseUrl),
            Timeout = TimeSpan.FromMinutes(5),
        };
        var log = new LatencyLog();
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(options.Seconds);
        long peakSampled = 0;
        using var sampler = new Timer(_ => peakSampled = Math.Max(peakSampled, server.ResidentBytes), null, 0, 100);
        await Task.WhenAll(Enumerable.Range(0, options.Clients).Select(c =>
            Task.Run(() => new Client(http, log, variants, new Random(options.Seed * 1000 + c), options.UploadEvery).RunAsync(clock, deadline))));
        double seconds = clock.Elapsed.TotalSeconds;

        Console.WriteLine($"load average after:  {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine();
        Console.WriteLine("| endpoint | requests | per second | p50 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        int total = 0;
        foreach (var row in log.Rows(seconds))
        {
            total += row.Count;
            Console.WriteLine($"| {row.Endpoint} | {row.Count} | {row.PerSecond:F1} | {row.P50:F1} | {row.P99:F1} | {row.Max:F1} |");
        }
        int errors = log.Outcomes.Where(o => o.Key.StartsWith("error")).Sum(o => o.Value);
        Console.WriteLine();
        Console.WriteLine($"{total} answered in {seconds:F1} s = {total / seconds:F1} requests/s; errors: {errors}");
        foreach (var (outcome, n) in log.Outcomes.OrderBy(o => o.Key)) Console.WriteLine($"  {outcome}: {n}");
        Console.WriteLine($"server resident memory: {idle / 1048576.0:F0} MiB idle with the model loaded, peak {server.PeakResidentBytes / 1048576.0:F0} MiB " +
            $"(VmHWM; sampled every 100 ms: {peakSampled / 1048576.0:F0} MiB)");
        // the embedding cache is bounded by --cache-mb (the server's default is 1024); the rest is working memory
        int cacheMb = options.CacheMb ?? 1024;
        double aboveIdleAndCache = (server.PeakResidentBytes - idle) / 1048576.0 - cacheMb;
        Console.WriteLine($"peak - idle = {(server.PeakResidentBytes - idle) / 1048576.0:F0} MiB against --cache-mb {cacheMb}: " +
            (aboveIdleAndCache <= 0 ? "within the cache bound" : $"{aboveIdleAndCache:F0} MiB above it (working memory of concurrent requests)"));
        return errors == 0 ? 0 : 1;
    }

    /// <summary>
    /// PNG files of the image, each with a few pixels changed: every upload is a different image, so a
    /// server that recognised repeated bytes could not skip the encoder.
    /// </summary>
    private static List<byte[]> ImageVariants(string path, int count, int seed)
    {
        var image = ImageLoader.Load(path);
        var random = new Random(seed);
        var variants = new List<byte[]>();
        for (int v = 0; v < count; v++)
        {
            var pixels = (byte[])image.Pixels.Clone();
            for (int k = 0; k < 16; k++) pixels[random.Next(pixels.Length)] ^= 0x40;
            using var png = ImageLoader.ToImage(image with { Pixels = pixels });
            using var stream = new MemoryStream();
            png.SaveAsPng(stream);
            variants.Add(stream.ToArray());
        }
        return variants;
    }

    /// <summary>One simulated person: uploads an image, clicks on it a while, uploads the next.</summary>
    private sealed class Client(HttpClient http, LatencyLog log, List<byte[]> images, Random random, int uploadEvery)
    {
        private string? _imageId;
        private int _height, _width;
        private string? _lastResult;
        private int _lastMasks;
        private readonly List<float[]> _points = [];

        public async Task RunAsync(Stopwatch clock, TimeSpan deadline)
        {
            for (int op = 0; clock.Elapsed < deadline; op++)
            {
                try
                {
                    if (_imageId is null || op % uploadEvery == 0) await UploadAsync();
                    else await ClickAsync();
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
                {
                    log.Count($"error: {e.GetType().Name}: {e.Message}");
                }
            }
        }

        private async Task UploadAsync()
        {
            var content = new ByteArrayContent(images[random.Next(images.Count)]);
            content.Headers.ContentType = new("image/png");
            var sw = Stopwatch.StartNew();
            using var response = await http.PostAsync("v1/images", content);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                // the encoder queue is full: as a client should, wait as told and go on clicking meanwhile
                log.Count("503 encoder queue full (retried later)");
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                return;
            }
            if (!response.IsSuccessStatusCode) { log.Count($"error: upload {(int)response.StatusCode}"); return; }
            var info = await response.Content.ReadFromJsonAsync<JsonElement>();
            log.Ok("POST /v1/images", sw.Elapsed.TotalMilliseconds);
            _imageId = info.GetProperty("id").GetString();
            _height = info.GetProperty("height").GetInt32();
            _width = info.GetProperty("width").GetInt32();
            _points.Clear();
            _lastResult = null;
        }

        /// <summary>A first click (three masks), a refining click with the last mask as input, or a box.</summary>
        private async Task ClickAsync()
        {
            var body = new Dictionary<string, object>();
            double kind = random.NextDouble();
            if (kind < 0.15)
            {
                float x0 = RandomX(), y0 = RandomY(), x1 = RandomX(), y1 = RandomY();
                body["box"] = new[] { Math.Min(x0, x1), Math.Min(y0, y1), Math.Max(x0, x1) + 1, Math.Max(y0, y1) + 1 };
                _points.Clear();
            }
            else
            {
                if (kind < 0.5 || _points.Count >= 6) _points.Clear();
                _points.Add([RandomX(), RandomY(), _points.Count == 0 || random.NextDouble() < 0.6 ? 1 : 0]);
                if (_points.Count > 1 && _lastResult is not null)
                    body["mask_input"] = _lastMasks > 1 ? $"{_lastResult}:{random.Next(_lastMasks)}" : _lastResult;
            }
            body["points"] = _points.ToArray();
            body["multimask"] = _points.Count == 1 && !body.ContainsKey("box");
            var sw = Stopwatch.StartNew();
            using var response = await http.PostAsJsonAsync($"v1/images/{_imageId}/predict", body);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                // the LRU cache let the image go: upload it again, as the page would
                log.Count("404 image evicted from the cache (uploaded again)");
                _imageId = null;
                return;
            }
            if (!response.IsSuccessStatusCode)
            {
                log.Count($"error: predict {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                return;
            }
            var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
            log.Ok("POST /v1/images/{id}/predict", sw.Elapsed.TotalMilliseconds);
            _lastResult = answer.GetProperty("result_id").GetString();
            _lastMasks = answer.GetProperty("masks").GetArrayLength();
        }

        private float RandomX() => (float)Math.Round(random.NextDouble() * (_width - 1), 1);
        private float RandomY() => (float)Math.Round(random.NextDouble() * (_height - 1), 1);
    }
}

/// <summary>The load run's options.</summary>
internal sealed record LoadOptions(
    string Model, string? Arch, string Backend, int? CacheMb, int Clients, int Seconds, string Image, int UploadEvery, int Seed)
{
    public static LoadOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--") || i + 1 >= args.Length) throw new ArgumentException($"'{args[i]}' is not an option followed by a value");
            if (!values.TryAdd(args[i][2..], args[++i])) throw new ArgumentException($"--{args[i - 1][2..]} is given twice");
        }
        string Take(string name, string fallback) => values.Remove(name, out var v) ? v : fallback;
        int Int(string name, int fallback, int min)
        {
            string text = Take(name, fallback.ToString());
            if (!int.TryParse(text, out int v) || v < min) throw new ArgumentException($"--{name} must be an integer >= {min}, not '{text}'");
            return v;
        }
        string model = Take("model", "") is { Length: > 0 } m ? m : throw new ArgumentException("--model is required");
        var options = new LoadOptions(
            Model: model,
            Arch: values.Remove("arch", out var arch) ? arch : null,
            Backend: Take("backend", "cpu"),
            CacheMb: values.ContainsKey("cache-mb") ? Int("cache-mb", 0, 1) : null,
            Clients: Int("clients", 8, 1),
            Seconds: Int("seconds", 30, 1),
            Image: Take("image", Path.Combine("samples", "shapes.png")),
            UploadEvery: Int("upload-every", 10, 1),
            Seed: Int("seed", 0, 0));
        if (values.Count > 0) throw new ArgumentException($"unknown option --{values.Keys.First()}");
        if (!File.Exists(options.Image)) throw new ArgumentException($"--image {options.Image}: no such file");
        return options;
    }

    /// <summary>The arguments of <c>samengine serve</c> that pick the model, backend and cache.</summary>
    public IEnumerable<string> ServeArgs()
    {
        yield return "--model";
        yield return Model;
        if (Arch is not null) { yield return "--arch"; yield return Arch; }
        yield return "--backend";
        yield return Backend;
        if (CacheMb is { } mb) { yield return "--cache-mb"; yield return mb.ToString(); }
    }
}
