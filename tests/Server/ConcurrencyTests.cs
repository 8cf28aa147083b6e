using System.Net;
using System.Net.Http.Json;
using SamEngine.Modeling;
using SamEngine.Server;

namespace SamEngine.Tests.Server;

/// <summary>
/// Decoder requests run beside the encoder and beside each other, each on its own predictor; encoder work
/// waits in a bounded queue, and past its capacity an upload is refused at once with 503 and Retry-After.
/// </summary>
public class ConcurrencyTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Occupies the encoder worker until <c>release</c> is set.</summary>
    private static (Task Job, ManualResetEventSlim Release) BlockEncoder(EncoderQueue queue)
    {
        var started = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var job = queue.Run("the test's job", () =>
        {
            started.Set();
            release.Wait(Patience);
            return 0;
        });
        Assert.True(started.Wait(Patience), "the encoder worker never took the job");
        return (job, release);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task ManyPredictsAnswerWhileAnEncodeWaitsAndMatchTheLibrary()
    {
        await using var server = await ApiServer.Start(new ServerOptions { DecoderConcurrency = 4 });
        var info = await server.UploadTiny();
        var queue = server.Service<EncoderQueue>();
        var (job, release) = BlockEncoder(queue);
        var upload = server.Client.PostAsync("/v1/images", new ByteArrayContent(File.ReadAllBytes(ApiServer.TinyImagePath)));
        await WaitFor(() => queue.Depth == 2);

        var points = Enumerable.Range(0, 32).Select(i => (X: 9f * i % 300, Y: 7f * i % 200)).ToArray();
        var predicts = points.Select(p => server.PostJson($"/v1/images/{info.Id}/predict", $$"""{"points": [[{{p.X}}, {{p.Y}}, 1]], "multimask": true}""")).ToArray();
        var answers = await Task.WhenAll(predicts).WaitAsync(Patience);
        Assert.False(upload.IsCompleted, "the upload should still wait for the encoder");

        var image = ApiServer.TinyImage;
        using var predictor = new SamPredictor(server.Model);
        predictor.SetImage(image.Pixels, image.Height, image.Width);
        for (int i = 0; i < points.Length; i++)
        {
            Assert.Equal(HttpStatusCode.OK, answers[i].StatusCode);
            var body = (await answers[i].Content.ReadFromJsonAsync<PredictResponse>(ApiServer.Json))!;
            Assert.Equal(predictor.Predict(new SamPrompt { Points = [(points[i].X, points[i].Y, 1)] }, multimask: true).IouPredictions, body.Scores);
            answers[i].Dispose();
        }

        release.Set();
        await job;
        using var uploaded = await upload.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
        Assert.Equal(2, server.Service<ImageCache>().Count);
    }

    [Fact]
    public async Task FullQueueAnswers503WithRetryAfter()
    {
        await using var server = await ApiServer.Start(new ServerOptions { EncoderQueue = 1 });
        var queue = server.Service<EncoderQueue>();
        var (job, release) = BlockEncoder(queue);
        var waiting = server.Client.PostAsync("/v1/images", new ByteArrayContent(File.ReadAllBytes(ApiServer.TinyImagePath)));
        await WaitFor(() => queue.Depth == 2);

        using (var refused = await server.Client.PostAsync("/v1/images", new ByteArrayContent(File.ReadAllBytes(ApiServer.TinyImagePath))))
        {
            Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            Assert.Contains("queue is full", (await Problem.Read(refused, 503)).Detail);
        }
        using (var ready = await server.Client.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.NotNull(ready.Headers.RetryAfter);
        }
        Assert.Contains("samengine_encoder_rejected_total", await server.Client.GetStringAsync("/metrics"));

        release.Set();
        await job;
        using var accepted = await waiting.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        using var readyAgain = await server.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, readyAgain.StatusCode);
    }

    [Fact]
    public async Task AmgWaitsInTheSameQueue()
    {
        await using var server = await ApiServer.Start(new ServerOptions { EncoderQueue = 0 });
        var info = await server.UploadTiny();
        var (job, release) = BlockEncoder(server.Service<EncoderQueue>());
        await Problem.Read(await server.PostJson($"/v1/images/{info.Id}/amg", """{"points_per_side": 2}"""), 503);
        release.Set();
        await job;
        using var done = await server.PostJson($"/v1/images/{info.Id}/amg", """{"points_per_side": 2}""");
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
    }
}
