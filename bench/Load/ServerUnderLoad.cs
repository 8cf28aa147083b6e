using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SamEngine.Bench.Load;

/// <summary>
/// <c>samengine serve</c> as its own process on a free loopback port (the CLI built beside this tool),
/// with its memory read from /proc: resident now, and the kernel's high-water mark (VmHWM).
/// </summary>
internal sealed class ServerUnderLoad : IDisposable
{
    private readonly Process _process;

    private ServerUnderLoad(Process process, string baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
    }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public string BaseUrl { get; }

    /// <summary>Starts the server with <paramref name="serveArgs"/> (model, backend, cache) and waits for /healthz.</summary>
    public static async Task<ServerUnderLoad> StartAsync(IEnumerable<string> serveArgs, TimeSpan timeout)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "SamEngine.Cli.dll"), "serve" }
                     .Concat(serveArgs).Concat(["--host", "127.0.0.1", "--port", port.ToString()]))
            start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("samengine serve did not start");
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new ServerUnderLoad(process, $"http://127.0.0.1:{port}/");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"samengine serve exited with {process.ExitCode}:\n{log}");
            try
            {
                if ((await http.GetAsync(server.BaseUrl + "healthz")).IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        server.Dispose();
        throw new TimeoutException($"samengine serve did not answer /healthz within {timeout.TotalSeconds:F0} s:\n{log}");
    }

    /// <summary>Resident memory now, in bytes (VmRSS).</summary>
    public long ResidentBytes => StatusKilobytes("VmRSS:") * 1024;

    /// <summary>The most resident memory the server has had, in bytes (VmHWM).</summary>
    public long PeakResidentBytes => StatusKilobytes("VmHWM:") * 1024;

    private long StatusKilobytes(string key)
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            if (line.StartsWith(key)) return long.Parse(line[key.Length..].Trim().Split(' ')[0]);
        return 0;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}
