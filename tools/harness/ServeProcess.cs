using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SamEngine.Harness;

/// <summary>
/// <c>samengine serve</c> as a child process on a free loopback port: the CLI built beside the calling
/// program (the tests and the bench's <c>load</c> both reference it), started with the given arguments and
/// awaited until <c>/healthz</c> answers; disposing kills it and its children. Compiled into each of those
/// programs (a linked source file), since neither ships a library the other could reference.
/// </summary>
internal sealed class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ServeProcess(Process process, string baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
    }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public string BaseUrl { get; }

    /// <summary>The server's process id (for its memory figures in /proc).</summary>
    public int ProcessId => _process.Id;

    /// <summary>What the server wrote to stdout and stderr so far.</summary>
    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>
    /// Starts <c>serve</c> with <paramref name="serveArgs"/> (model, backend, ...) plus its host and port, and waits
    /// up to <paramref name="timeout"/> for /healthz; throws with the server's output if it exits or stays silent.
    /// </summary>
    public static async Task<ServeProcess> StartAsync(IEnumerable<string> serveArgs, TimeSpan timeout, string? workingDirectory = null)
    {
        int port = FreeLoopbackPort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "SamEngine.Cli.dll"), "serve" }
                     .Concat(serveArgs).Concat(["--host", "127.0.0.1", "--port", port.ToString()]))
            start.ArgumentList.Add(arg);
        var server = new ServeProcess(
            Process.Start(start) ?? throw new InvalidOperationException("samengine serve did not start"),
            $"http://127.0.0.1:{port}/");
        server._process.OutputDataReceived += (_, e) => { lock (server._log) server._log.AppendLine(e.Data); };
        server._process.ErrorDataReceived += (_, e) => { lock (server._log) server._log.AppendLine(e.Data); };
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (server._process.HasExited)
            {
                // Let the output readers drain before the message quotes them.
                server._process.WaitForExit();
                int code = server._process.ExitCode;
                server.Dispose();
                throw new InvalidOperationException($"samengine serve exited with {code}:\n{server.Log}");
            }
            try
            {
                if ((await http.GetAsync(server.BaseUrl + "healthz")).IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        server.Dispose();
        throw new TimeoutException($"samengine serve did not answer /healthz within {timeout.TotalSeconds:F0} s:\n{server.Log}");
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

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
