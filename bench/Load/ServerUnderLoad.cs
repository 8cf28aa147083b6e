using SamEngine.Harness;

namespace SamEngine.Bench.Load;

/// <summary>
/// <c>samengine serve</c> as its own process on a free loopback port (the CLI built beside this tool),
/// with its memory read from /proc: resident now, and the kernel's high-water mark (VmHWM).
/// </summary>
internal sealed class ServerUnderLoad : IDisposable
{
    private readonly ServeProcess _server;

    private ServerUnderLoad(ServeProcess server) => _server = server;

    /// <summary>http://127.0.0.1:PORT/</summary>
    public string BaseUrl => _server.BaseUrl;

    /// <summary>Starts the server with <paramref name="serveArgs"/> (model, backend, cache) and waits for /healthz.</summary>
    public static async Task<ServerUnderLoad> StartAsync(IEnumerable<string> serveArgs, TimeSpan timeout) =>
        new(await ServeProcess.StartAsync(serveArgs, timeout));

    /// <summary>Resident memory now, in bytes (VmRSS).</summary>
    public long ResidentBytes => StatusKilobytes("VmRSS:") * 1024;

    /// <summary>The most resident memory the server has had, in bytes (VmHWM).</summary>
    public long PeakResidentBytes => StatusKilobytes("VmHWM:") * 1024;

    private long StatusKilobytes(string key)
    {
        foreach (var line in File.ReadLines($"/proc/{_server.ProcessId}/status"))
            if (line.StartsWith(key)) return long.Parse(line[key.Length..].Trim().Split(' ')[0]);
        return 0;
    }

    public void Dispose() => _server.Dispose();
}
