using System.CommandLine;
using Ruler.Cli.Explain;

namespace Ruler.Cli;

/// <summary>The `ruler` command line: one subcommand per job.</summary>
internal static class RulerCommand
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Ruler: normalization as one idea, which numbers share a ruler.");
        root.Subcommands.Add(Explain());
        return root;
    }

    private static Command Explain()
    {
        var json = new Option<bool>("--json") { Description = "Print the examples and invariance tables as JSON." };
        var command = new Command("explain", "The essay's worked examples and the live invariance table of the five normalizers.");
        command.Options.Add(json);
        command.SetAction(result =>
        {
            Console.Out.Write(result.GetValue(json) ? ExplainReport.Json() + Environment.NewLine : ExplainReport.Text());
            return 0;
        });
        return command;
    }
}
