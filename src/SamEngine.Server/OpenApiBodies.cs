using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace SamEngine.Server;

/// <summary>
/// Request bodies described in the OpenAPI document only. The routes read their bodies themselves (so that
/// an error names the field, and an image's format is read from its bytes rather than its declared type),
/// and ASP.NET Core's <c>Accepts</c> metadata would make routing refuse other content types before them.
/// </summary>
internal static class OpenApiBodies
{
    /// <summary>A JSON body of type <typeparamref name="T"/>.</summary>
    public static RouteHandlerBuilder JsonBody<T>(this RouteHandlerBuilder route, bool required) =>
        route.AddOpenApiOperationTransformer(async (operation, context, cancel) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancel);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = required,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
            };
        });

    /// <summary>A file as the raw body (<paramref name="rawTypes"/>), or as the multipart field <paramref name="multipartField"/> when given.</summary>
    public static RouteHandlerBuilder FileBody(this RouteHandlerBuilder route, string description, string? multipartField, params string[] rawTypes) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            var content = rawTypes.ToDictionary(t => t, _ => new OpenApiMediaType { Schema = Binary() });
            if (multipartField is not null)
                content["multipart/form-data"] = new OpenApiMediaType
                {
                    Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Properties = new Dictionary<string, IOpenApiSchema> { [multipartField] = Binary() },
                        Required = new HashSet<string> { multipartField },
                    },
                };
            operation.RequestBody = new OpenApiRequestBody { Required = true, Description = description, Content = content };
            return Task.CompletedTask;
        });

    private static OpenApiSchema Binary() => new() { Type = JsonSchemaType.String, Format = "binary" };
}
