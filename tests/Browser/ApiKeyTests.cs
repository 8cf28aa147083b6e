namespace SamEngine.Tests.Browser;

/// <summary>The server started with --api-key (tiny fixture model).</summary>
public sealed class ApiKeyFixture() : BrowserAndServer(new ServerProcess([.. ServerProcess.TinyModel, "--api-key", ApiKeyTests.Key]));

/// <summary>The page on a server that needs an API key: it asks once, then sends the key with every call.</summary>
[Collection("browser")]
public sealed class ApiKeyTests(ApiKeyFixture fixture) : IClassFixture<ApiKeyFixture>
{
    public const string Key = "page-test-key-0123456789";

    [BrowserFact]
    public async Task AsksForTheKeyOnceAndSendsItAfter()
    {
        var driver = await PageDriver.OpenAsync(fixture.Session, fixture.Server);
        int asked = 0;
        driver.Page.Dialog += async (_, dialog) => { asked++; await dialog.AcceptAsync(Key); };
        await driver.Page.SetInputFilesAsync("#file", PageDriver.TinyImage);
        await driver.WaitForPhaseAsync("ready");
        await driver.ClickAsync(81, 76);
        Assert.Equal(3, await driver.Page.Locator("#candidates li").CountAsync());
        Assert.Equal(1, asked);
    }

    [BrowserFact]
    public async Task AWrongKeyIsReportedInTheServersWords()
    {
        var driver = await PageDriver.OpenAsync(fixture.Session, fixture.Server);
        driver.Page.Dialog += async (_, dialog) => await dialog.AcceptAsync("not-the-key");
        await driver.Page.SetInputFilesAsync("#file", PageDriver.TinyImage);
        await driver.Page.WaitForFunctionAsync("() => document.getElementById('status').classList.contains('error')");
        Assert.Contains("--api-key", await driver.Page.TextContentAsync("#status"));
        Assert.Equal("empty", await driver.Page.EvaluateAsync<string>("() => document.body.dataset.phase"));
    }
}
