using System.Diagnostics;
using Ruler.Lab.Report;

namespace Ruler.Lab.Experiments;

/// <summary>
/// E2 (LAB.md): which numbers of an (N, C, H, W) block share one mean and one scale under each normalizer, read
/// from the library's own rulers (<see cref="RulerNormalizer{T}.RulerFor"/>) and drawn; the two GroupNorm identities
/// (G = 1 is LayerNorm over (C, H, W), G = C is InstanceNorm); and which normalizers make a sample's output depend on
/// the other samples of its batch. No training.
/// </summary>
internal sealed class E2WhoSharesTheRuler : IExperiment
{
    // The picture's block: small enough to label every cell.
    private const int PicN = 4, PicC = 6, PicH = 2, PicW = 2, PicGroups = 3;

    public string Id => "E2";
    public string Title => "Who shares the ruler";
    public string Claim => "A normalizer is a choice of which numbers share one mean and one scale: BN shares across the batch, LN/GN/IN/RMS only within a sample.";

    public ExperimentReport Run(LabContext context)
    {
        var settings = context.Settings;
        var results = new List<LabResult>();
        var notes = new List<string>();
        const int steps = 4;

        // 1. The picture, from the rulers the modules actually resolve (double modules: exact statistics check).
        var sw = Stopwatch.StartNew();
        int[] picShape = [PicN, PicC, PicH, PicW];
        var modules = new (string Name, string Short, RulerNormalizer<double> Module, string Expected, int ExpectedGroups)[]
        {
            ("BatchNorm", "BN", new BatchNorm<double>(PicC), "one per channel", PicC),
            ("LayerNorm over (C, H, W)", "LN", new LayerNorm<double>([PicC, PicH, PicW]), "one per sample", PicN),
            ($"GroupNorm, G = {PicGroups}", "GN", new GroupNorm<double>(PicGroups, PicC), $"one per (sample, group of {PicC / PicGroups} channels)", PicN * PicGroups),
            ("InstanceNorm", "IN", new InstanceNorm<double>(PicC), "one per (sample, channel)", PicN * PicC),
            ("RMSNorm over (C, H, W)", "RMS", new RmsNorm<double>([PicC, PicH, PicW]), "LayerNorm's, no centering", PicN),
        };
        string picSetup = $"block N×C×H×W = {PicN}×{PicC}×{PicH}×{PicW}; groups from each module's RulerFor(shape) and RulerSpec.Resolve";
        var panels = new List<RulerPanel>();
        var picX = Gaussian(new Rng(settings.Seed), PicN * PicC * PicH * PicW, mean: 0.5, std: 2);
        double worstStatistic = 0;
        foreach (var (name, shortName, module, expected, expectedGroups) in modules)
        {
            var (groups, groupCount) = GroupIds(module, picShape);
            panels.Add(new RulerPanel($"{name}: {groupCount} rulers", groups));
            results.Add(new LabResult(Id, Claim, picSetup, $"statistics groups, {shortName}", groupCount, "groups", null,
                groupCount == expectedGroups ? Verdict.Pass : Verdict.Fail, $"= {expectedGroups} ({expected})", sw.Elapsed.TotalSeconds));
            worstStatistic = Math.Max(worstStatistic, StatisticsMismatch(module, picShape, picX, groups, groupCount));
        }
        results.Add(new LabResult(Id, Claim, picSetup + "; x ~ N(0.5, 2²), float64",
            "max relative |Δ| between each picture group's mean, 1/√(var+eps) and the kernels' saved statistics (all five)",
            worstStatistic, "", null, worstStatistic < 1e-9 ? Verdict.Pass : Verdict.Fail, "< 1e-9", sw.Elapsed.TotalSeconds));
        const string picture = "e2-who-shares-the-ruler.png";
        RulerPicture.Draw(context.PathOf(picture), $"Who shares a ruler: N×C×(H·W) = {PicN}×{PicC}×{PicH * PicW}, same colour = same mean and scale",
            PicN, PicC, PicH * PicW, panels,
            [$"Rows c0–c{PicC - 1}: channels.", $"Each block: one sample's H·W = {PicH}×{PicW} positions.",
             "Number: the element's statistics group,", "i.e. the index of its saved mean and rstd.",
             "Groups read from each module's", "RulerFor(shape) and RulerSpec.Resolve."]);
        context.Progress.Step(Id, 1, steps, "picture of the statistics groups");

        // 2. The identities GN(G = 1) = LN over (C, H, W) and GN(G = C) = IN, in float as the lab trains.
        int n = settings.Quick ? 4 : 16, c = settings.Quick ? 8 : 32, h = settings.Quick ? 6 : 16, w = h;
        int[] shape = [n, c, h, w];
        int perSample = c * h * w;
        string setup = $"x of shape {n}×{c}×{h}×{w}, float32, sample i = aᵢ·(z + m_c) + bᵢ with z ~ N(0, 1), m_c ~ N(0, 1), aᵢ ~ U(0.5, 3), bᵢ ~ U(−2, 2); PyTorch defaults (γ = 1, β = 0)";
        var rng = new Rng(settings.Seed + 1);
        var channelMeans = Gaussian(rng, c, 0, 1);
        var x = Batch(rng, n, c, h * w, channelMeans);
        sw.Restart();
        double gn1VsLn = MaxAbsDiff(Apply(new GroupNorm<float>(1, c), x, shape), Apply(new LayerNorm<float>([c, h, w]), x, shape));
        results.Add(new LabResult(Id, Claim, setup, "max |Δy|, GroupNorm(G = 1) vs LayerNorm over (C, H, W)", gn1VsLn, "", null,
            gn1VsLn < 1e-5 ? Verdict.Pass : Verdict.Fail, "< 1e-5", sw.Elapsed.TotalSeconds));
        sw.Restart();
        double gnCVsIn = MaxAbsDiff(Apply(new GroupNorm<float>(c, c), x, shape), Apply(new InstanceNorm<float>(c), x, shape));
        results.Add(new LabResult(Id, Claim, setup, "max |Δy|, GroupNorm(G = C) vs InstanceNorm", gnCVsIn, "", null,
            gnCVsIn < 1e-5 ? Verdict.Pass : Verdict.Fail, "< 1e-5", sw.Elapsed.TotalSeconds));
        context.Progress.Step(Id, 2, steps, $"identities: GN(1) vs LN {Sci(gn1VsLn)}, GN(C) vs IN {Sci(gnCVsIn)}");

        // 3. Batch dependence: keep sample 0, replace samples 1..N−1 with fresh ones, compare sample 0's output.
        var replaced = Batch(rng, n, c, h * w, channelMeans);
        x.AsSpan(0, perSample).CopyTo(replaced);
        var dependence = new (string Short, Func<Normalizer<float>> Make, bool DependsOnBatch)[]
        {
            ("BN (train)", () => new BatchNorm<float>(c), true),
            ("LN", () => new LayerNorm<float>([c, h, w]), false),
            ("GN (G = 4)", () => new GroupNorm<float>(4, c), false),
            ("IN", () => new InstanceNorm<float>(c), false),
            ("RMS", () => new RmsNorm<float>([c, h, w]), false),
        };
        string depSetup = setup + $"; samples 1..{n - 1} replaced by fresh draws, sample 0 kept";
        var changes = new List<string>();
        foreach (var (shortName, make, depends) in dependence)
        {
            sw.Restart();
            var before = Apply(make(), x, shape);
            var after = Apply(make(), replaced, shape);
            double change = MaxAbsDiff(before.AsSpan(0, perSample), after.AsSpan(0, perSample));
            results.Add(new LabResult(Id, Claim, depSetup, $"max |Δy| of sample 0 when the rest of the batch is replaced, {shortName}", change, "", null,
                (depends ? change > 1e-2 : change < 1e-6) ? Verdict.Pass : Verdict.Fail, depends ? "> 1e-2" : "< 1e-6", sw.Elapsed.TotalSeconds));
            changes.Add($"{shortName} {Sci(change)}");
        }
        context.Progress.Step(Id, 3, steps, "batch dependence: " + string.Join(", ", changes));

        // The same BN in eval mode: running statistics are fixed, so the batch no longer matters (E4's train/eval gap).
        sw.Restart();
        var bnEval = new BatchNorm<float>(c);
        Apply(bnEval, x, shape);
        bnEval.Training = false;
        double evalChange = MaxAbsDiff(Apply(bnEval, x, shape).AsSpan(0, perSample), Apply(bnEval, replaced, shape).AsSpan(0, perSample));
        results.Add(new LabResult(Id, Claim, depSetup + "; BN in eval mode after one training batch",
            "max |Δy| of sample 0 when the rest of the batch is replaced, BN (eval, running statistics)", evalChange, "", null,
            Verdict.Report, null, sw.Elapsed.TotalSeconds));
        context.Progress.Step(Id, 4, steps, "done");

        notes.Add($"The picture is drawn from the rulers the modules resolve for a {PicN}×{PicC}×{PicH}×{PicW} input (RulerFor + RulerSpec.Resolve), "
            + "not from a table: BatchNorm's groups run across every sample (a row of one colour), LayerNorm's and RMSNorm's stay inside one sample, "
            + $"GroupNorm's split a sample into {PicGroups} blocks of {PicC / PicGroups} channels and InstanceNorm's into single channels. "
            + $"Each group's mean and 1/√(var+eps), recomputed from the picture's grouping, match the kernels' saved statistics to {worstStatistic:0.#e0} (relative).");
        notes.Add($"GroupNorm interpolates between the two per-sample extremes: with one group it is LayerNorm over (C, H, W) (max |Δ| = {Sci(gn1VsLn)}), "
            + $"with one channel per group it is InstanceNorm (max |Δ| = {Sci(gnCVsIn)}), as Wu & He 2018 (Group Normalization, §3.1 and Fig. 2) describe.");
        var moved = results.Where(r => r.Metric.StartsWith("max |Δy| of sample 0", StringComparison.Ordinal) && r.Verdict != Verdict.Report).ToList();
        double bnMoved = moved[0].Value, othersMoved = moved.Skip(1).Max(r => r.Value);
        notes.Add("Only BatchNorm in training mode makes a sample's output depend on its batch companions: replacing them moves sample 0's output by "
            + $"{bnMoved:0.##}, while LN, GN, IN and RMS " + (othersMoved == 0 ? "give the same bits. " : $"move it by at most {Sci(othersMoved)}. ")
            + $"In eval mode BN uses fixed running statistics and the dependence vanishes (max |Δy| = {Sci(evalChange)}) — the train/eval difference E4 measures.");
        return new ExperimentReport(Id, Title, Claim, results,
            [new Figure(picture, "One N×C×(H·W) block per normalizer; cells with the same colour and number share one mean and one scale.")], notes);
    }

    /// <summary>
    /// The statistics group of every element of <paramref name="shape"/> under <paramref name="module"/>: the ruler
    /// and view it resolves, groups numbered row-major over the view's kept (non-reduced) axes, as RulerSpec documents.
    /// </summary>
    internal static (int[] Groups, int Count) GroupIds(RulerNormalizer<double> module, int[] shape)
    {
        var (ruler, view) = module.RulerFor(shape);
        var layout = ruler.Resolve(view);
        int rank = view.Length;
        var reduced = new bool[rank];
        foreach (int a in ruler.ReducedAxes) reduced[a < 0 ? a + rank : a] = true;
        var groups = new int[layout.Count];
        var index = new int[rank];
        for (int i = 0; i < groups.Length; i++)
        {
            int g = 0;
            for (int a = 0; a < rank; a++)
                if (!reduced[a]) g = g * view[a] + index[a];
            groups[i] = g;
            for (int a = rank - 1; a >= 0 && ++index[a] == view[a]; a--) index[a] = 0;
        }
        int count = groups.Max() + 1;
        if (count != layout.GroupCount)
            throw new InvalidOperationException($"E2: the grouping read from {ruler} gives {count} groups, the resolved layout {layout.GroupCount}.");
        return (groups, count);
    }

    /// <summary>Runs the module on x and compares its saved per-group statistics with those of the given grouping (largest relative difference).</summary>
    private static double StatisticsMismatch(RulerNormalizer<double> module, int[] shape, double[] x, int[] groups, int count)
    {
        module.Forward(x, shape, new double[x.Length]);
        bool center = module.RulerFor(shape).Ruler.Center;
        var sum = new double[count];
        var sumSq = new double[count];
        var size = new int[count];
        for (int i = 0; i < x.Length; i++)
        {
            sum[groups[i]] += x[i];
            size[groups[i]]++;
        }
        for (int i = 0; i < x.Length; i++)
        {
            double d = center ? x[i] - sum[groups[i]] / size[groups[i]] : x[i];
            sumSq[groups[i]] += d * d;
        }
        double worst = 0;
        for (int g = 0; g < count; g++)
        {
            double mean = center ? sum[g] / size[g] : 0;
            double rstd = 1 / Math.Sqrt(sumSq[g] / size[g] + module.Eps);
            worst = Math.Max(worst, Math.Abs(module.SavedMean[g] - mean) / Math.Max(1, Math.Abs(mean)));
            worst = Math.Max(worst, Math.Abs(module.SavedRstd[g] - rstd) / rstd);
        }
        return worst;
    }

    /// <summary>A small number for a sentence: "0" when exactly zero, else one decimal in scientific notation.</summary>
    internal static string Sci(double v) => v == 0 ? "0" : v.ToString("0.#e0", System.Globalization.CultureInfo.InvariantCulture);

    private static float[] Apply(Normalizer<float> module, float[] x, int[] shape)
    {
        var y = new float[x.Length];
        module.Forward(x, shape, y);
        return y;
    }

    private static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs((double)a[i] - b[i]));
        return worst;
    }

    private static double[] Gaussian(Rng rng, int count, double mean, double std)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = mean + std * rng.NextGaussian();
        return values;
    }

    /// <summary>(n, c, s) samples, each with its own offset and scale over a per-channel pattern, like images of different brightness and contrast.</summary>
    private static float[] Batch(Rng rng, int n, int c, int s, double[] channelMeans)
    {
        var x = new float[n * c * s];
        for (int i = 0; i < n; i++)
        {
            double a = rng.NextUniform(0.5, 3), b = rng.NextUniform(-2, 2);
            for (int ch = 0; ch < c; ch++)
                for (int j = 0; j < s; j++)
                    x[(i * c + ch) * s + j] = (float)(a * (rng.NextGaussian() + channelMeans[ch]) + b);
        }
        return x;
    }
}
