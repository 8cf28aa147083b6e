using System.Xml.Linq;

namespace SamEngine.Tests.Docs;

/// <summary>The licence the package declares is the one the repository and the package carry.</summary>
public class LicenseTests
{
    private static XElement Project() =>
        XElement.Load(Path.Combine(ReadmeExampleTests.RepoRoot(), "src", "SamEngine", "SamEngine.csproj"));

    [Fact]
    public void RepositoryLicenseIsTheApacheLicenseTheCsprojDeclares()
    {
        string declared = Project().Descendants("PackageLicenseExpression").Single().Value;
        Assert.Equal("Apache-2.0", declared);

        string path = Path.Combine(ReadmeExampleTests.RepoRoot(), "LICENSE");
        Assert.True(File.Exists(path), "LICENSE is missing at the repository root");
        var lines = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        // The canonical text: title, version, and the end of the terms before the appendix.
        Assert.Equal("Apache License", lines[0]);
        Assert.Equal("Version 2.0, January 2004", lines[1]);
        Assert.Equal("http://www.apache.org/licenses/", lines[2]);
        Assert.Contains("END OF TERMS AND CONDITIONS", lines);
        Assert.Contains(lines, l => l.StartsWith("9. Accepting Warranty or Additional Liability."));
    }

    [Fact]
    public void PackageIncludesTheLicenseFile()
    {
        var packed = Project().Descendants("None")
            .Where(e => (string?)e.Attribute("Pack") == "true")
            .Select(e => ((string?)e.Attribute("Include") ?? "").Replace('\\', '/'));
        Assert.Contains("../../LICENSE", packed);
    }
}
