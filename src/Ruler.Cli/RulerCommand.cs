using System.CommandLine;
using Ruler.Cli.Bench;
using Ruler.Cli.Explain;
using Ruler.Cli.Inspect;
using Ruler.Cli.Lab;
using Spectre.Console;

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
        var json = new Option<bool>("--json") { Description = "Print the results as JSON (progress goes to stderr)." };
        var quick = new Option<bool>("--quick") { Description = "A subset of every section that runs in well under a minute." };
        var tiny = new Option<bool>("--tiny") { Description = "Every case at toy sizes with few rounds: a smoke test of the whole bench (numbers mean nothing)." };
        var threads = Usage.Threads("Thread counts to measure (default: 1 and 2).", [1, 2]);
        var markdown = new Option<string?>("--markdown")
        {
            Description = "Also write the tables, environment and command into this Markdown file (between its generated-part markers, or the whole file).",
            HelpName = "FILE",
        };
        markdown.Validators.Add(result =>
        {
            string? path = result.GetValueOrDefault<string?>();
            string? folder = path is null ? null : Path.GetDirectoryName(Path.GetFullPath(path));
            if (string.IsNullOrWhiteSpace(path) || folder is null || !Directory.Exists(folder))
                result.AddError($"--markdown: expected a file in an existing folder, got '{path}'.");
        });
        var l3 = new Option<int>("--l3-mib")
        {
            Description = $"The L3 size in MiB the 4x-L3 case is sized from (default: {BenchEnvironment.L3Path}, else 32). In [1, {MaxL3Mib}].",
            HelpName = "MIB",
        };
        l3.Validators.Add(result =>
        {
            // A token that is not an integer is already a conversion error; only a parsed size is checked here.
            if (result.Tokens.Any(t => !int.TryParse(t.Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out _))) return;
            if (!result.Implicit && result.GetValueOrDefault<int>() is int v && (v < 1 || v > MaxL3Mib))
                result.AddError($"--l3-mib: expected an L3 size in [1, {MaxL3Mib}] MiB, got {v}.");
        });
        var note = new Option<string?>("--conditions") { Description = "A line on the conditions (e.g. 'shared machine under load') written with the Markdown tables.", HelpName = "TEXT" };
        var command = new Command("bench",
            "Ruler's kernels vs a copy of the same bytes, a TensorPrimitives implementation and ONNX Runtime, interleaved on the same buffers, " +
            "with the issue's targets marked met or not; plus the engine's GEMM and training throughput.");
        foreach (var o in new Option[] { quick, tiny, threads, json, markdown, l3, note }) command.Options.Add(o);
        command.Validators.Add(result =>
        {
            if (result.GetValue(quick) && result.GetValue(tiny)) result.AddError("--quick and --tiny: expected one of them, got both.");
        });
        command.SetAction(result =>
        {
            int[] counts = result.GetValue(threads) ?? [1, 2];
            var profile = result.GetValue(tiny) ? BenchProfile.Tiny : result.GetValue(quick) ? BenchProfile.Quick : BenchProfile.Full;
            int? l3Mib = result.GetResult(l3) is { Implicit: false } ? result.GetValue(l3) : null;
            var environment = BenchEnvironment.Detect(l3Mib is int m ? (long)m << 20 : null);
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var run = BenchRunner.Run(profile, counts, environment, error);
            if (result.GetValue(json)) output.WriteLine(BenchReport.Json(run));
            else if (ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
                BenchReport.Write(run, AnsiConsole.Console);
            else output.Write(BenchReport.Plain(run));
            if (result.GetValue(markdown) is string path)
            {
                string flags = string.Concat(
                    profile switch { BenchProfile.Tiny => " --tiny", BenchProfile.Quick => " --quick", _ => "" },
                    counts.SequenceEqual([1, 2]) ? "" : " --threads " + string.Join(" ", counts),
                    l3Mib is int x ? $" --l3-mib {x}" : "",
                    $" --markdown {path}",
                    result.GetValue(note) is string n ? $" --conditions \"{n}\"" : "");
                string commandLine = $"dotnet run --project src/Ruler.Cli -c Release -- bench{flags}";
                BenchReport.WriteMarkdown(path, BenchReport.Markdown(run, commandLine, result.GetValue(note)));
                error.WriteLine($"wrote {path}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>The largest L3 the bench accepts: a 4x-L3 tensor of 4 GiB is already more than most machines hold three of.</summary>
    private const int MaxL3Mib = 1024;
}
