using System.Globalization;
using Ruler.Lab.Invariance;
using Ruler.Lab.Report;

namespace Ruler.Lab.Experiments;

/// <summary>
/// E1 (LAB.md): the mean sets the origin, the std sets the unit. The essay's worked numbers, then the live
/// invariance table: which transforms x → a·x + b each normalizer cannot see. No training; the full size repeats
/// the table over more seeds and reports the worst cell.
/// </summary>
internal sealed class E1OriginAndUnit : IExperiment
{
    /// <summary>The essay's normalized pattern: ±√1.5.</summary>
    private const double Pattern = 1.2247;
    private const double PatternTolerance = 1e-4;

    public string Id => "E1";
    public string Title => "Mean sets the origin, std sets the unit";
    public string Claim => "Normalization removes shift and scale; which shifts and scales a normalizer cannot see depends only on who shares its ruler.";

    private static readonly Anchor BaTable1 = new("", "Ba, Kiros & Hinton 2016, Layer Normalization, Table 1");

    public ExperimentReport Run(LabContext context)
    {
        var results = new List<LabResult>();
        var notes = new List<string>();
        int seeds = context.Settings.SeedCount(quick: 1, full: 5);

        // The invariance table over every seed: an invariant cell reports its largest change, a changing cell its smallest.
        var shifted = WorstCells(context, seeds, scaleOnly: false);
        var scaled = WorstCells(context, seeds, scaleOnly: true);
        int cells = 0, matching = 0;
        void Count(string normalizer, string transform, bool scaleOnly, double change)
        {
            bool invariant = InvarianceTable.ExpectedInvariant(normalizer, transform, scaleOnly);
            cells++;
            if (invariant ? change < InvarianceTable.Threshold : change > InvarianceTable.ChangeThreshold) matching++;
        }
        foreach (string n in InvarianceTable.Normalizers)
            foreach (string t in InvarianceTable.Transforms) Count(n, t, false, shifted[n][t]);
        foreach (string t in InvarianceTable.Transforms) Count("RmsNorm", t, true, scaled["RmsNorm"][t]);

        string tableSetup = $"x ~ [8,16,6,6] (N,C,H,W), float64; a ~ U[{InvarianceTable.ScaleMin}, {InvarianceTable.ScaleMax}], " +
            $"b ~ U[{InvarianceTable.ShiftMin}, {InvarianceTable.ShiftMax}] (b = 0 for pure scaling); BN train, LN/RMS over (C,H,W), GN(4), IN; {seeds} seed(s)";
        results.Add(new LabResult(Id, Claim, tableSetup, "invariance cells that match the algebra", matching, $"of {cells}",
            BaTable1 with { Value = "BN invariant to dataset re-scaling and re-centering, not to single-case re-scaling; LN the reverse" },
            matching == cells ? Verdict.Pass : Verdict.Fail, $"all {cells}: invariant < 1e-4, others > 1e-2"));

        // The essay's numbers.
        var examples = WorkedExamples.Compute();
        foreach (var e in examples.Take(3))
        {
            double[] y = e.Normalized;
            bool ok = Math.Abs(y[0] + Pattern) < PatternTolerance && Math.Abs(y[1]) < 1e-12 && Math.Abs(y[2] - Pattern) < PatternTolerance;
            results.Add(new LabResult(Id, Claim, "population mean and std, eps = 0, computed by RulerOps",
                $"normalize({List(e.Input)}) = [−v, {Num(y[1])}, v]: v", y[2], "",
                new Anchor("[-1.2247, 0, 1.2247]", "the essay's worked example"),
                ok ? Verdict.Pass : Verdict.Fail, "[-1.2247, 0, 1.2247] ± 1e-4"));
        }
        foreach (var (e, expected) in new[] { (examples[3], 1.633), (examples[4], 16.33) })
        {
            double rounded = Math.Round(e.Std, 3 - (int)Math.Floor(Math.Log10(e.Std)));
            results.Add(new LabResult(Id, Claim, "population std (divide by n), computed by RulerOps.Moments",
                $"std({List(e.Input)})", e.Std, "", new Anchor(Num(expected), "the essay's worked example"),
                rounded == expected ? Verdict.Pass : Verdict.Fail, $"{Num(expected)} to 4 significant digits"));
        }

        // Every cell of the table, with Ba et al.'s Table 1 beside the cells it covers.
        foreach (string n in InvarianceTable.Normalizers)
            foreach (string t in InvarianceTable.Transforms)
                results.Add(Cell(tableSetup, n, t, scaleOnly: false, shifted[n][t]));
        foreach (string t in InvarianceTable.Transforms)
            results.Add(Cell(tableSetup, "RmsNorm", t, scaleOnly: true, scaled["RmsNorm"][t]));

        string figure = "e1-invariance.png";
        DrawTable(context.PathOf(figure), shifted, scaled);

        notes.Add("[1, 2, 3], [101, 102, 103] and [10, 20, 30] normalize to the same three numbers: the mean (the origin) and the std (the unit) are gone, the pattern stays. B = 10·A has ten times A's std and the same normalized values.");
        notes.Add("A normalizer cannot see a transform exactly when every group that shares one of its rulers gets a single (a, b): BatchNorm's groups are channels across the batch, LayerNorm's are samples, GroupNorm's are (sample, group of channels), InstanceNorm's are (sample, channel). Each measured cell agrees with that rule; the invariant ones differ from 0 only by rounding and eps (1e-5), which is why the threshold is 1e-4 rather than 0.");
        notes.Add("RMSNorm does not subtract the mean, so any shift b reaches its output; with b = 0 it is invariant exactly where LayerNorm is (one positive a per sample).");
        notes.Add("Ba et al.'s Table 1 covers BatchNorm and LayerNorm: their 'dataset re-scaling/re-centering' is our per-channel transform, 'single training case re-scaling' our per-sample scaling. GroupNorm, InstanceNorm and RMSNorm are not in it; their cells are checked against the algebra alone.");
        return new ExperimentReport(Id, Title, Claim, results,
            [new Figure(figure, "Largest output change max |Δy| per normalizer (rows) and transform (columns); green cells are invariant (< 1e-4).")],
            notes);
    }

    private Dictionary<string, Dictionary<string, double>> WorstCells(LabContext context, int seeds, bool scaleOnly)
    {
        var worst = new Dictionary<string, Dictionary<string, double>>();
        for (int s = 0; s < seeds; s++)
        {
            context.Progress.Step(Id, s, seeds, $"invariance table{(scaleOnly ? " (b = 0)" : "")}, seed {s + 1} of {seeds}");
            var table = InvarianceTable.Compute(scaleOnly, seed: unchecked((int)context.Settings.Seed + s));
            foreach (var (n, row) in table)
            {
                var w = worst.TryGetValue(n, out var existing) ? existing : worst[n] = [];
                foreach (var (t, cell) in row)
                {
                    bool invariant = InvarianceTable.ExpectedInvariant(n, t, scaleOnly);
                    w[t] = !w.TryGetValue(t, out double v) ? cell.MaxAbsChange
                        : invariant ? Math.Max(v, cell.MaxAbsChange) : Math.Min(v, cell.MaxAbsChange);
                }
            }
        }
        context.Progress.Step(Id, seeds, seeds, "invariance table done");
        return worst;
    }

    private LabResult Cell(string setup, string normalizer, string transform, bool scaleOnly, double change)
    {
        bool invariant = InvarianceTable.ExpectedInvariant(normalizer, transform, scaleOnly);
        bool ok = invariant ? change < InvarianceTable.Threshold : change > InvarianceTable.ChangeThreshold;
        string what = scaleOnly ? "a·x" : "a·x + b";
        return new LabResult(Id, Claim, setup, $"max |Δy|, {Label(normalizer)}, {what} {transform.Replace('_', ' ')}", change, "",
            BaAnchor(normalizer, transform, scaleOnly), ok ? Verdict.Pass : Verdict.Fail,
            invariant ? "< 1e-4 (invariant)" : "> 1e-2 (changes)");
    }

    /// <summary>Ba et al.'s Table 1 verdict for the cells it covers (BN and LN; per channel = dataset, per sample = single case).</summary>
    private static Anchor? BaAnchor(string normalizer, string transform, bool scaleOnly) => (normalizer, transform, scaleOnly) switch
    {
        ("BatchNorm", "per_channel", false) => BaTable1 with { Value = "invariant (dataset re-scaling and re-centering)" },
        ("BatchNorm", "per_sample", false) => BaTable1 with { Value = "not invariant (single training case re-scaling)" },
        ("LayerNorm", "per_channel", false) => BaTable1 with { Value = "not invariant (dataset re-centering)" },
        ("LayerNorm", "per_sample", false) => BaTable1 with { Value = "invariant (single training case re-scaling)" },
        _ => null,
    };

    private static void DrawTable(string path, Dictionary<string, Dictionary<string, double>> shifted, Dictionary<string, Dictionary<string, double>> scaled)
    {
        string[] rows = [.. InvarianceTable.Normalizers.Select(Label), "RMSNorm, b = 0"];
        string[] columns = ["global", "per channel", "per sample", "per (sample, group)"];
        var text = new string[rows.Length, columns.Length];
        var invariant = new bool[rows.Length, columns.Length];
        for (int r = 0; r < rows.Length; r++)
            for (int c = 0; c < columns.Length; c++)
            {
                bool scaleOnly = r == rows.Length - 1;
                string n = scaleOnly ? "RmsNorm" : InvarianceTable.Normalizers[r], t = InvarianceTable.Transforms[c];
                double change = (scaleOnly ? scaled : shifted)[n][t];
                text[r, c] = change.ToString("0.0e+0", CultureInfo.InvariantCulture);
                invariant[r, c] = change < InvarianceTable.Threshold;
            }
        Charts.CellTable(path, "max |Δy| under x → a·x + b  (green: invariant, < 1e-4)", rows, columns, text, invariant, "one (a, b) per …");
    }

    private static string Label(string normalizer) => normalizer switch
    {
        "BatchNorm" => "BatchNorm (train)",
        "LayerNorm" => "LayerNorm (C,H,W)",
        "GroupNorm" => "GroupNorm (G=4)",
        "RmsNorm" => "RMSNorm",
        _ => normalizer,
    };

    private static string List(double[] v) => "[" + string.Join(", ", v.Select(Num)) + "]";

    private static string Num(double v) => (v == 0 ? 0 : v).ToString("0.####", CultureInfo.InvariantCulture);
}
