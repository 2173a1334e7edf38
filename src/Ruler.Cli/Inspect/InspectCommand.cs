using System.CommandLine;
using System.Globalization;

namespace Ruler.Cli.Inspect;

/// <summary>`ruler inspect MODEL.onnx`: the normalizations of an ONNX model and, on inputs, what their rulers see.</summary>
internal static class InspectCommand
{
    public static Command Build()
    {
        var model = new Argument<string>("model") { Description = "The ONNX model file." };
        var input = new Option<string[]>("--input")
        {
            Description = "NAME=FILE.npy: a value for the model input NAME (repeat for each input).",
            AllowMultipleArgumentsPerToken = false,
        };
        var random = new Option<bool>("--random") { Description = "Draw the inputs not given by --input from their declared shapes and types." };
        var seed = new Option<int>("--seed") { Description = "Seed of --random.", DefaultValueFactory = _ => 0 };
        var dim = new Option<string[]>("--dim") { Description = "NAME=VALUE: the size of a symbolic dimension for --random." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var html = new Option<string?>("--html") { Description = "Also write the report with plots to this HTML file (PNG images next to it)." };
        var command = new Command("inspect", "Every normalization of an ONNX model as a ruler, its placement on the residual stream, and (with inputs) what it measures.");
        command.Arguments.Add(model);
        command.Options.Add(input);
        command.Options.Add(random);
        command.Options.Add(seed);
        command.Options.Add(dim);
        command.Options.Add(json);
        command.Options.Add(html);
        command.SetAction(result => Run(result.GetValue(model)!, result.GetValue(input) ?? [], result.GetValue(random), result.GetValue(seed),
            result.GetValue(dim) ?? [], result.GetValue(json), result.GetValue(html), Console.Out, Console.Error));
        return command;
    }

    /// <summary>Runs the command; user errors print one line on <paramref name="error"/> and return 2.</summary>
    public static int Run(string model, string[] inputs, bool random, int seed, string[] dims, bool json, string? html, TextWriter output, TextWriter error)
    {
        try
        {
            var files = Pairs("--input", inputs, (name, v) => v.Length == 0 ? throw new InspectException($"--input {name}=: no file given") : v);
            var sizes = Pairs("--dim", dims, (name, v) => long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0
                ? n : throw new InspectException($"--dim {name}={v}: expected a positive integer size"));
            if (!random && sizes.Count > 0) throw new InspectException("--dim: sizes of symbolic dimensions apply to --random only");
            var options = files.Count > 0 || random ? new ModelRun.InputOptions(files, random, seed, sizes) : null;
            var inspection = ModelInspection.Run(model, options);
            output.Write(json ? InspectJson.Render(inspection) + Environment.NewLine : InspectText.Render(inspection));
            if (html is not null)
            {
                string written = InspectHtml.Write(inspection, html);
                if (!json) output.WriteLine($"{Environment.NewLine}wrote {written}");
            }
            return 0;
        }
        catch (InspectException e)
        {
            error.WriteLine(e.Message);
            return 2;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A model that parses but is inconsistent in a way no check above names (or a bug here): still one line.
            error.WriteLine($"{model}: inspect failed ({e.GetType().Name}: {e.Message.Split('\n')[0].Trim()}); if ONNX Runtime runs this model, please report it as a bug of ruler inspect");
            return 2;
        }
    }

    private static Dictionary<string, T> Pairs<T>(string option, string[] values, Func<string, string, T> parse)
    {
        var map = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (string v in values)
        {
            int eq = v.IndexOf('=');
            if (eq <= 0) throw new InspectException($"{option} {v}: expected NAME=VALUE");
            string name = v[..eq];
            if (map.ContainsKey(name)) throw new InspectException($"{option} {name}: given twice");
            map[name] = parse(name, v[(eq + 1)..]);
        }
        return map;
    }
}
