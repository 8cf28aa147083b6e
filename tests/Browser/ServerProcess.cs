using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SamEngine.Tests.Browser;

/// <summary>
/// The real <c>samengine serve</c>, started as its own process on a free loopback port with a model
/// (the tiny fixture by default), and stopped (this process only) when disposed.
/// </summary>
public sealed class ServerProcess : IAsyncLifetime
{
    private readonly string[] _modelArgs;
    private readonly StringBuilder _log = new();
    private Process? _process;

    /// <summary>A server on the tiny fixture model.</summary>
    public ServerProcess() : this(TinyModel)
    {
    }

    /// <summary>A server with these arguments (e.g. --model generated:vit_b), on the cpu backend.</summary>
    public ServerProcess(params string[] serveArgs) => _modelArgs = serveArgs;

    /// <summary>The arguments that load the tiny fixture model.</summary>
    public static string[] TinyModel =>
    [
        "--model", Path.Combine(TestFixtures.Local("tiny"), "model.safetensors"),
        "--arch", Path.Combine(TestFixtures.Local("tiny"), "cases.json"),
    ];

    /// <summary>http://127.0.0.1:PORT/ once started.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The server's process id (for its memory figures).</summary>
    public int ProcessId => _process?.Id ?? 0;

    public async Task InitializeAsync()
    {
        int port = FreeLoopbackPort();
        BaseUrl = $"http://127.0.0.1:{port}/";
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "SamEngine.Cli.dll"), "serve" }
                     .Concat(_modelArgs).Concat(["--backend", "cpu", "--host", "127.0.0.1", "--port", port.ToString()]))
            start.ArgumentList.Add(arg);
        _process = Process.Start(start) ?? throw new InvalidOperationException("samengine serve did not start");
        _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"samengine serve exited with {_process.ExitCode}:\n{Log}");
            try
            {
                if ((await http.GetAsync(BaseUrl + "healthz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"samengine serve did not answer /healthz within 120 s:\n{Log}");
    }

    /// <summary>What the server wrote to stdout and stderr so far.</summary>
    public string Log { get { lock (_log) return _log.ToString(); } }

    public async Task DisposeAsync()
    {
        if (_process is null) return;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
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
