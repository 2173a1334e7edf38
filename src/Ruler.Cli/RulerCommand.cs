using System.CommandLine;
using Ruler.Cli.Bench;
using Ruler.Cli.Explain;
using Ruler.Cli.Inspect;
using Ruler.Cli.Lab;

namespace Ruler.Cli;

/// <summary>The `ruler` command line: one subcommand per job.</summary>
internal static class RulerCommand
{
    /// <summary>Runs the command line; usage errors exit with <see cref="Usage.ExitCode"/> and one line on stderr.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Usage.Run(Build(), args, output, error);

    public static Command Build()
    {
        var root = Usage.Root("Ruler: normalization as one idea, which numbers share a ruler.");
        root.Subcommands.Add(Explain());
        root.Subcommands.Add(Bench());
        root.Subcommands.Add(LabCommand.Create());
        root.Subcommands.Add(InspectCommand.Build());
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

    private static Command Bench()
    {
        var json = new Option<bool>("--json") { Description = "Print the results as a JSON array (progress goes to stderr)." };
        var quick = new Option<bool>("--quick") { Description = "A subset that runs in under a minute." };
        var threads = Usage.Threads("Thread counts to measure (default: 1 and 2).", [1, 2]);
        var command = new Command("bench", "Ruler's kernels vs a memory copy of the same bytes vs ONNX Runtime, in one process on the same buffers.");
        command.Options.Add(json);
        command.Options.Add(quick);
        command.Options.Add(threads);
        command.SetAction(result =>
        {
            int[] counts = result.GetValue(threads) ?? [1, 2];
            var results = BenchRunner.Run(result.GetValue(quick), counts, Console.Error);
            Console.Out.Write(result.GetValue(json) ? BenchRunner.Json(results) + Environment.NewLine : BenchRunner.Table(results));
            return 0;
        });
        return command;
    }
}
