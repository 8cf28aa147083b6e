using System.Security.Cryptography;

namespace SamEngine.Server;

/// <summary>Ids of images and results: 128 random bits in hex, so that one client cannot guess another's.</summary>
internal static class ServerIds
{
    /// <summary>A new id.</summary>
    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>True for an id a client may choose (PUT of an embedding): 1 to 64 of <c>A-Z a-z 0-9 _ -</c>.</summary>
    public static bool IsValid(string id) =>
        id.Length is >= 1 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
}
