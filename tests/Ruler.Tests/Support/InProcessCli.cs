using Ruler.Cli;

namespace Ruler.Tests.Support;

/// <summary>Runs <c>ruler</c> in this process with captured stdout/stderr, bounded so a command that never returns fails the test.</summary>
internal static class InProcessCli
{
    public static (int Code, string Output, string Error) Run(TimeSpan limit, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var run = Task.Run(() => RulerCommand.Run(args, output, error));
        Assert.True(run.Wait(limit), $"ruler {string.Join(" ", args)} did not return within {limit}");
        return (run.Result, output.ToString(), error.ToString());
    }
}
