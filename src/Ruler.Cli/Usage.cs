using System.CommandLine;
using System.CommandLine.Help;

namespace Ruler.Cli;

/// <summary>
/// What every subcommand shares: the command is called <c>ruler</c> in usage and help (not the assembly's name),
/// a usage error (unknown command or option, a value that does not parse or is out of range) prints one line to
/// stderr and exits with <see cref="ExitCode"/>, and thread counts are bounded.
/// </summary>
internal static class Usage
{
    /// <summary>The exit status of every usage error.</summary>
    public const int ExitCode = 2;

    /// <summary>The command's name as users type it.</summary>
    public const string Name = "ruler";

    /// <summary>The most threads a thread-count option accepts: 4× the logical cores (more only thrashes, or hangs the machine).</summary>
    public static int MaxThreads => 4 * Environment.ProcessorCount;

    /// <summary>The root command, named <see cref="Name"/>, with help and version options.</summary>
    public static Command Root(string description)
    {
        var root = new Command(Name, description);
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        return root;
    }

    /// <summary>A <c>--threads</c> option of one or more counts, each in [1, <see cref="MaxThreads"/>]; out of range is a usage error.</summary>
    public static Option<int[]> Threads(string description, int[] defaults)
    {
        var option = new Option<int[]>("--threads")
        {
            Description = $"{description} Each in [1, {MaxThreads}] (4 x the logical cores).",
            DefaultValueFactory = _ => defaults,
            AllowMultipleArgumentsPerToken = true,
        };
        option.Validators.Add(result =>
        {
            // A token that is not an integer is already a conversion error; only parsed counts are checked here.
            if (result.Tokens.Any(t => !int.TryParse(t.Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out _))) return;
            int[] counts = result.GetValueOrDefault<int[]>() ?? [];
            if (counts.Length == 0 || counts.Any(t => t < 1 || t > MaxThreads))
                result.AddError($"--threads: expected thread counts in [1, {MaxThreads}], got [{string.Join(", ", counts)}].");
        });
        return option;
    }

    /// <summary>Parses and runs <paramref name="args"/>: a usage error prints one line to <paramref name="error"/> and returns <see cref="ExitCode"/>.</summary>
    public static int Run(Command root, string[] args, TextWriter output, TextWriter error)
    {
        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            // An unknown token also reports a missing command; the token is the one line worth reading.
            var errors = result.Errors.Select(e => e.Message).Distinct().ToList();
            var unmatched = errors.Where(m => m.StartsWith("Unrecognized", StringComparison.Ordinal)).ToList();
            error.WriteLine($"{Name}: {string.Join(" ", unmatched.Count > 0 ? unmatched : errors)} (see '{Name} --help')");
            return ExitCode;
        }
        return result.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
