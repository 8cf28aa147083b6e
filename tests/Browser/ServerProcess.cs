using SamEngine.Harness;

namespace SamEngine.Tests.Browser;

/// <summary>
/// The real <c>samengine serve</c> (<see cref="ServeProcess"/>) on the cpu backend with a model (the tiny
/// fixture by default), started for a test class and stopped (this process only) when disposed.
/// </summary>
public sealed class ServerProcess : IAsyncLifetime
{
    private readonly string[] _modelArgs;
    private ServeProcess? _server;

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
    public string BaseUrl => _server?.BaseUrl ?? "";

    /// <summary>The server's process id (for its memory figures).</summary>
    public int ProcessId => _server?.ProcessId ?? 0;

    /// <summary>What the server wrote to stdout and stderr so far.</summary>
    public string Log => _server?.Log ?? "";

    public async Task InitializeAsync() =>
        _server = await ServeProcess.StartAsync([.. _modelArgs, "--backend", "cpu"], TimeSpan.FromSeconds(120),
            workingDirectory: AppContext.BaseDirectory);

    public Task DisposeAsync()
    {
        _server?.Dispose();
        return Task.CompletedTask;
    }
}
