using System.Diagnostics;
using System.IO.Compression;

namespace Ruler.Tests;

public class PackageTests
{
    [Fact]
    public void DotnetPackProducesALibraryPackageWithDocsAndReadme()
    {
        string root = RepoRoot();
        string output = Directory.CreateTempSubdirectory("ruler-pack-").FullName;
        try
        {
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
                ["pack", Path.Combine(root, "src", "Ruler", "Ruler.csproj"), "-c", "Release", "-o", output, "--nologo"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            string log = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, log);
            string package = Assert.Single(Directory.GetFiles(output, "Ruler.*.nupkg"));
            using var zip = ZipFile.OpenRead(package);
            var names = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("lib/net10.0/Ruler.dll", names);
            Assert.Contains("lib/net10.0/Ruler.xml", names);
            Assert.Contains("README.md", names);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ruler.slnx"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return dir!.FullName;
    }
}
