using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace SamEngine.Server;

/// <summary>
/// With <c>--api-key</c>, every <c>/v1</c> request must carry <c>Authorization: Bearer KEY</c>; others get a
/// 401 problem. The key is compared in constant time. CORS preflights pass (browsers send no credentials on them).
/// </summary>
internal sealed class ApiKeyCheck(RequestDelegate next, string key)
{
    private readonly byte[] _expected = Encoding.UTF8.GetBytes("Bearer " + key);

    public async Task InvokeAsync(HttpContext http, IProblemDetailsService problems)
    {
        if (!http.Request.Path.StartsWithSegments("/v1") || HttpMethods.IsOptions(http.Request.Method) || Authorized(http.Request))
        {
            await next(http);
            return;
        }
        http.Response.Headers.WWWAuthenticate = "Bearer";
        await ApiProblemHandler.Write(http, problems, new ApiProblem(StatusCodes.Status401Unauthorized, "unauthorized",
            "this server needs 'Authorization: Bearer KEY' with the key it was started with (--api-key)"));
    }

    private bool Authorized(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        return header is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), _expected);
    }
}
