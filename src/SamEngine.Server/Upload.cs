using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace SamEngine.Server;

/// <summary>Reads request bodies within a byte limit: a declared or actual length over it is a 413 before more is read.</summary>
internal static class Upload
{
    /// <summary>
    /// The bytes of an image upload: the raw body, or the multipart field <c>image</c>. Over
    /// <paramref name="maxBytes"/> is a 413; a multipart body without the field is a 400 naming it.
    /// </summary>
    public static async Task<byte[]> ReadImage(HttpRequest request, long maxBytes)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            return await ReadAll(request.Body, request.ContentLength, maxBytes, "image");
        string boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value
            ?? throw ApiProblem.BadRequest("multipart/form-data body without a boundary");
        // The multipart framing adds a little to the image; the field itself is held to the limit.
        if (request.ContentLength > maxBytes + 64 * 1024)
            throw ApiProblem.TooLarge($"the request is {request.ContentLength} bytes, over the upload limit of {maxBytes}");
        var reader = new MultipartReader(boundary, request.Body);
        try
        {
            while (await reader.ReadNextSectionAsync() is { } section)
            {
                if (ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    && HeaderUtilities.RemoveQuotes(disposition.Name).Equals("image", StringComparison.Ordinal))
                    return await ReadAll(section.Body, null, maxBytes, "image");
            }
        }
        catch (IOException e) when (e is not BadHttpRequestException) { throw ApiProblem.BadRequest($"malformed multipart body: {e.Message}"); }
        catch (InvalidDataException e) { throw ApiProblem.BadRequest($"malformed multipart body: {e.Message}"); }
        throw ApiProblem.BadField("image", "the multipart body has no field 'image'");
    }

    /// <summary>Reads <paramref name="body"/> to its end; more than <paramref name="maxBytes"/> (declared or read) is a 413.</summary>
    public static async Task<byte[]> ReadAll(Stream body, long? declaredLength, long maxBytes, string what)
    {
        if (declaredLength > maxBytes) throw ApiProblem.TooLarge($"the {what} is {declaredLength} bytes, over the upload limit of {maxBytes}");
        using var buffer = new MemoryStream(declaredLength is long n && n > 0 ? (int)n : 64 * 1024);
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > maxBytes) throw ApiProblem.TooLarge($"the {what} is over the upload limit of {maxBytes} bytes");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
