using System.CommandLine;
using Ruler.Lab;
using Ruler.Lab.Report;
using Ruler.Lab.Runner;
using Spectre.Console;

namespace Ruler.Cli.Lab;

/// <summary><c>ruler lab</c>: runs the lab's experiments, writes results.json and index.html, prints the summary.</summary>
internal static class LabCommand
{
    public static Command Create()
    {
        var ids = new Argument<string[]>("ids") { Description = "Experiments to run (E1…E9); all when none are given.", Arity = ArgumentArity.ZeroOrMore };
        var quick = new Option<bool>("--quick") { Description = "The small, deterministic size the tests use (about 2 minutes for the whole lab)." };
        var output = new Option<string>("--out") { Description = "Folder for results.json, index.html and the figures.", DefaultValueFactory = _ => "lab-report" };
        var seed = new Option<string>("--seed") { Description = "Base seed (default 1)." };
        var seeds = new Option<string>("--seeds") { Description = "Seed count for experiments that average over seeds (default: each experiment's own)." };
        var threads = new Option<string>("--threads") { Description = "Threads for the kernels and the engine (default: the logical core count)." };
        var resume = new Option<bool>("--resume") { Description = "Keep experiments that results.json in --out already holds with the same settings and code." };
        var command = new Command("lab", "Every claim of the essay measured on embedded data; writes a report page with plots beside the literature.");
        command.Arguments.Add(ids);
        foreach (var option in new Option[] { quick, output, seed, seeds, threads, resume }) command.Options.Add(option);
        command.SetAction(result =>
        {
            var arguments = LabArguments.Parse(result.GetValue(ids) ?? [], result.GetValue(quick), result.GetValue(output) ?? "lab-report",
                result.GetValue(seed), result.GetValue(seeds), result.GetValue(threads), result.GetValue(resume), out string? error);
            if (arguments is null)
            {
                Console.Error.WriteLine(error);
                return 2;
            }
            return Run(arguments);
        });
        return command;
    }

    private static int Run(LabArguments arguments)
    {
        var options = new LabRunOptions(arguments.Experiments, arguments.Settings, arguments.OutputDirectory, arguments.Resume);
        bool terminal = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        LabResults lab;
        string reportPath;
        try
        {
            if (terminal)
            {
                LabResults? finished = null;
                string path = "";
                AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                        new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .Start(context =>
                    {
                        var live = new LiveProgress(context, arguments.Experiments.Count);
                        var runner = new LabRunner(options, live, live);
                        path = runner.ReportPath;
                        finished = runner.Run();
                    });
                (lab, reportPath) = (finished!, path);
            }
            else
            {
                var plain = new PlainProgress(Console.Out);
                var runner = new LabRunner(options, plain, plain);
                reportPath = runner.ReportPath;
                lab = runner.Run();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"--out: cannot write the report into '{arguments.OutputDirectory}': {e.Message}");
            return 1;
        }
        PrintSummary(lab, terminal);
        Console.Out.WriteLine($"Report: {reportPath}");
        return lab.Passed ? 0 : 1;
    }

    private static void PrintSummary(LabResults lab, bool terminal)
    {
        var console = terminal ? AnsiConsole.Console : AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        if (!terminal) console.Profile.Width = 160;
        var table = new Table { Border = terminal ? TableBorder.Rounded : TableBorder.Ascii };
        table.AddColumn(new TableColumn("Experiment").NoWrap());
        table.AddColumn("Claim");
        table.AddColumn("Our value");
        table.AddColumn("Anchor");
        table.AddColumn(new TableColumn("Verdict").NoWrap());
        var errors = new List<string>();
        foreach (string id in lab.Environment.Selected)
        {
            var (record, verdict, key, anchor) = LabFormat.SummaryRow(lab, id);
            string colour = verdict.Word switch { "pass" => "green", "report" => "grey", _ => "red" };
            if (verdict.Word == "error") errors.Add($"{id} failed: {verdict.Detail}");
            table.AddRow(
                Markup.Escape(id),
                Markup.Escape(record?.Claim is { Length: > 0 } claim ? claim : record?.Title ?? LabCatalog.Find(id)?.Title ?? ""),
                Markup.Escape(key is null ? "—" : $"{key.Metric}: {LabFormat.Value(key.Value, key.Unit)}"),
                Markup.Escape(anchor is null ? "—" : $"{anchor.Value} ({anchor.Source})".TrimStart()),
                $"[{colour}]{Markup.Escape(verdict.Word)}[/]");
        }
        console.Write(table);
        foreach (string error in errors) console.WriteLine(error);
    }
}
