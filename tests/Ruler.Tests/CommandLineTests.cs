using Ruler.Cli;

namespace Ruler.Tests;

/// <summary>
/// The command line's usage contract: every usage error (unknown command or option, a value that does not parse,
/// a thread count out of [1, 4× logical cores]) exits 2 with exactly one line on stderr and nothing on stdout,
/// before any work starts; help names the command <c>ruler</c>.
/// </summary>
public class CommandLineTests
{
    // Bounded: before thread counts were checked, `bench --threads 100000` started the bench and never returned.
    private static (int Code, string Output, string Error) Run(params string[] args) =>
        Support.InProcessCli.Run(TimeSpan.FromSeconds(60), args);

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("explain", "--bogus")]
    [InlineData("bench", "--threads", "abc")]
    [InlineData("bench", "--threads", "0")]
    [InlineData("bench", "--threads", "100000")]
    [InlineData("bench", "--threads", "1", "-3")]
    [InlineData("bench", "--threads")]
    [InlineData]
    public void UsageErrorsExitTwoWithOneLineOnStderr(params string[] args)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}:\n{error}");
        Assert.StartsWith("ruler: ", lines[0]);
    }

    [Fact]
    public void TheThreadBoundIsFourTimesTheLogicalCoresAndTheErrorSaysSo()
    {
        int max = 4 * Environment.ProcessorCount;
        var (code, _, error) = Run("bench", "--threads", "1", (max + 1).ToString());
        Assert.Equal(2, code);
        Assert.Contains($"[1, {max}]", error);
        Assert.Contains($"{max + 1}", error);
    }

    [Fact]
    public void HelpNamesTheCommandRuler()
    {
        var (code, output, error) = Run("--help");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("ruler [command] [options]", output);
        Assert.DoesNotContain("Ruler.Cli", output);
        var bench = Run("bench", "--help");
        Assert.Contains("ruler bench [options]", bench.Output);
    }
}
