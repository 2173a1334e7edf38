using System.Diagnostics;
using Ruler.Lab.Report;
using Ruler.Nn.Data;

namespace Ruler.Lab.Experiments;

/// <summary>
/// E3 (LAB.md): a 10-layer plain 3×3 CNN (16 channels, ReLU, no bias, PyTorch's default init) at initialization on
/// real MNIST digits. Without a norm every layer multiplies the activations' second moment by about 1/6, so the
/// signal fades geometrically with depth; a BN or GN after every conv resets every layer to unit variance, so the
/// post-ReLU RMS stays at 1/√2. Forward passes only.
/// </summary>
internal sealed class E3DepthWithoutRuler : IExperiment
{
    private const int Layers = 10, Width = 16, Groups = 8;

    public string Id => "E3";
    public string Title => "Depth without a ruler: a plain CNN at initialization";
    public string Claim => "Without normalization the activation scale drifts geometrically with depth; a per-layer ruler (BN, GN) pins every layer to the same unit.";

    public ExperimentReport Run(LabContext context)
    {
        var settings = context.Settings;
        int images = settings.Quick ? 32 : 64, seeds = settings.SeedCount(1, 3);
        var variants = new (string Name, NormKind Kind)[]
        {
            ("none", NormKind.None), ("BN", NormKind.BatchNorm), ($"GN({Groups})", NormKind.GroupNorm), ("LN", NormKind.LayerNorm),
        };
        string setup = $"{Layers}× [conv 3×3, {Width} ch, no bias → norm → ReLU], PyTorch default init U(±1/√fan_in), "
            + $"{images} MNIST digits (mean/std 0.1307/0.3081), one forward in training mode, {seeds} seed{(seeds == 1 ? "" : "s")}";

        var data = Mnist.LoadEmbedded(PixelScaling.MnistStandard);
        // rms[variant][seed][layer]: post-ReLU RMS over the whole (N, C, H, W) activation.
        var rms = new double[variants.Length][][];
        var seconds = new double[variants.Length];
        int total = variants.Length * seeds, done = 0;
        for (int v = 0; v < variants.Length; v++)
        {
            rms[v] = new double[seeds][];
            var sw = Stopwatch.StartNew();
            for (int s = 0; s < seeds; s++)
            {
                ulong seed = settings.Seed + (ulong)s;
                var batch = Images(data, images, new Rng(seed ^ 0x5EED_0003UL));
                // Same seed → same conv weights for every variant (the norms draw nothing), so the variants differ only in the norm.
                var cnn = new Cnn<float>(new CnnConfig(Enumerable.Repeat(Width, Layers).ToArray())
                {
                    ConvBias = false, Norm = variants[v].Kind, NormGroups = Groups,
                }, seed) { Recorder = new Recorder() };
                cnn.Forward(batch, images);
                rms[v][s] = [.. cnn.Recorder[Recorder.ActivationRms]];
                if (rms[v][s].Length != Layers)
                    throw new InvalidOperationException($"E3: the recorder holds {rms[v][s].Length} activation RMS values for {Layers} layers.");
                context.Progress.Step(Id, ++done, total, $"{variants[v].Name} seed {seed}: RMS(layer 10) = {rms[v][s][^1]:0.###e0}");
            }
            seconds[v] = sw.Elapsed.TotalSeconds;
        }

        var results = new List<LabResult>();
        var none = rms[0];
        double worstRatio = none.Max(r => r[^1] / r[0]);
        results.Add(new LabResult(Id, Claim, setup, "RMS(layer 10) / RMS(layer 1), no norm (largest over seeds)", worstRatio, "ratio",
            null, worstRatio < 1e-2 ? Verdict.Pass : Verdict.Fail, "< 1e-2", seconds[0]));
        // Geometric mean over seeds of the per-layer second-moment factor (RMS₁₀/RMS₁)^(2/9).
        // The theory is about the expected factor MS_l / MS_{l−1}: average it over layers 2–10 and seeds.
        double[] factors = [.. none.SelectMany(r => Enumerable.Range(1, Layers - 1).Select(l => r[l] * r[l] / (r[l - 1] * r[l - 1])))];
        double factor = factors.Average();
        double factorError = Math.Sqrt(factors.Sum(f => (f - factor) * (f - factor)) / (factors.Length - 1) / factors.Length);
        double lowFactor = none.Min(r => Enumerable.Range(1, Layers - 1).Min(l => r[l] * r[l] / (r[l - 1] * r[l - 1])));
        double highFactor = none.Max(r => Enumerable.Range(1, Layers - 1).Max(l => r[l] * r[l] / (r[l - 1] * r[l - 1])));
        double typicalRatio = Math.Exp(none.Average(r => Math.Log(r[^1] / r[0])));
        results.Add(new LabResult(Id, Claim, setup, "second-moment factor MS(layer l) / MS(layer l−1), no norm (mean over layers 2–10 and seeds)", factor, "ratio",
            new Anchor("1/6 ≈ 0.167 per layer, so (1/6)^4.5 ≈ 3.1e-4 over layers 1→10",
                "He et al. 2015, Delving Deep into Rectifiers, Eq. 10 (Var y_l = ½·n_l·Var w_l·Var y_{l−1}) with PyTorch's default Var w = 1/(3·fan_in)"),
            Verdict.Report, null, seconds[0]));
        for (int v = 1; v < variants.Length; v++)
        {
            bool asserted = variants[v].Kind is NormKind.BatchNorm or NormKind.GroupNorm;
            double min = rms[v].Min(r => r.Min()), max = rms[v].Max(r => r.Max());
            results.Add(new LabResult(Id, Claim, setup, $"smallest post-ReLU RMS over the {Layers} layers, {variants[v].Name}", min, "",
                null, asserted ? (min >= 0.6 ? Verdict.Pass : Verdict.Fail) : Verdict.Report, asserted ? "≥ 0.6" : null, seconds[v]));
            results.Add(new LabResult(Id, Claim, setup, $"largest post-ReLU RMS over the {Layers} layers, {variants[v].Name}", max, "",
                null, asserted ? (max <= 0.8 ? Verdict.Pass : Verdict.Fail) : Verdict.Report, asserted ? "≤ 0.8" : null, seconds[v]));
        }

        const string figure = "e3-activation-rms.png";
        double[] layerAxis = [.. Enumerable.Range(1, Layers).Select(l => (double)l)];
        double first = Math.Exp(none.Average(r => Math.Log(r[0])));
        Plot(context.PathOf(figure), layerAxis,
            [.. variants.Select((v, i) => new Series(v.Name, layerAxis, MeanOverSeeds(rms[i])))],
            [
                new Series("theory, none: ×1/√6 per layer", layerAxis, [.. layerAxis.Select(l => first * Math.Pow(6, -(l - 1) / 2))]),
                new Series("theory, normalized: 1/√2", layerAxis, [.. layerAxis.Select(_ => 1 / Math.Sqrt(2))]),
            ]);

        var notes = new List<string>
        {
            $"Without a norm the RMS falls from {none.Average(r => r[0]):0.###} after layer 1 to {none.Average(r => r[^1]):0.##e0} after layer 10 "
            + $"(ratio {typicalRatio:0.#e0}, geometric mean over seeds; LAB.md expects ≈ 3e-4): each layer multiplies the second moment by {factor:0.###} on average, "
            + "close to the 1/6 that He et al. 2015's variance recursion gives for PyTorch's default init (fan_in·Var w = 1/3, and ReLU keeps half); "
            + $"zero padding lowers that expectation slightly (at most the 4.7 % of 3×3 taps on a 28×28 map that fall outside it), and the {factors.Length} measured factors "
            + $"give the mean a standard error of {factorError:0.###}.",
            $"With only {Width} channels the factor of a single layer is itself random ({lowFactor:0.###}–{highFactor:0.###} here), and the ratio over 9 layers is "
            + "their product, so " + (seeds > 1 ? FormattableString.Invariant($"it scatters from seed to seed ({none.Min(r => r[^1] / r[0]):0.#e0}–{worstRatio:0.#e0}) and ") : "a single seed can sit well away from the expectation, and ")
            + $"its typical (geometric-mean) value sits {(typicalRatio < Math.Pow(6, -4.5) ? "below" : "above")} (1/6)^4.5 ≈ 3.1e-4: "
            + "the mean of a product of random factors is not its typical value. The worst seed (" + FormattableString.Invariant($"{worstRatio:0.#e0}") + $") still passes the criterion (< 1e-2) {1e-2 / worstRatio:0}-fold.",
            "With BatchNorm or GroupNorm after every conv, each layer starts again from zero mean and unit variance, so the post-ReLU RMS stays near "
            + $"1/√2 ≈ 0.707 at every depth (BN {Range(rms[1])}, GN {Range(rms[2])}, LN {Range(rms[3])}); BN runs in training mode (batch statistics), as at the first step of training.",
            "The default init is Kaiming-uniform with a = √5, i.e. U(±1/√fan_in) with variance 1/(3·fan_in): a sixth of the 2/fan_in He et al. prescribe for ReLU nets, "
            + "which is why the plain net shrinks instead of keeping its scale; with He init the factor would be 1 in expectation, but nothing would correct its drift.",
        };
        return new ExperimentReport(Id, Title, Claim, results,
            [new Figure(figure, "Post-ReLU RMS per layer (log scale): the plain net fades by ~√6 per layer, every normalized variant stays at ≈ 1/√2.")], notes);
    }

    /// <summary>
    /// The RMS profile in <see cref="Charts"/>' style: measured lines solid with markers, theory dashed, log y with
    /// integer layer ticks, the legend in the empty lower-left corner.
    /// </summary>
    private static void Plot(string path, double[] layers, IReadOnlyList<Series> measured, IReadOnlyList<Series> theory)
    {
        var plot = new ScottPlot.Plot();
        var all = measured.Concat(theory).ToList();
        for (int i = 0; i < all.Count; i++)
        {
            var line = plot.Add.Scatter(all[i].X, [.. all[i].Y.Select(Math.Log10)], Charts.Palette[i % Charts.Palette.Length]);
            line.LegendText = all[i].Label;
            line.LineWidth = 2;
            line.MarkerSize = i < measured.Count ? 6 : 0;
            if (i >= measured.Count) line.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        Charts.UseLogTicks(plot.Axes.Left);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        double low = Math.Floor(all.Min(s => s.Y.Min(Math.Log10))) - 0.2;
        plot.Axes.SetLimits(layers[0] - 0.3, layers[^1] + 0.3, low, 0.3);
        plot.Legend.Alignment = ScottPlot.Alignment.LowerLeft;
        Charts.Finish(plot, path, "Post-ReLU activation RMS per layer at initialization (10-layer plain CNN, MNIST)",
            "layer", "activation RMS (log scale)", legend: true);
    }

    /// <summary>A seeded random selection of digits, NCHW (n, 1, 28, 28).</summary>
    private static float[] Images(MnistDataset data, int count, Rng rng)
    {
        var order = Enumerable.Range(0, data.Count).ToArray();
        rng.Shuffle<int>(order);
        var images = new float[count * data.PixelCount];
        data.CopyBatch(order.AsSpan(0, count), images, new int[count]);
        return images;
    }

    private static double[] MeanOverSeeds(double[][] perSeed) =>
        [.. Enumerable.Range(0, perSeed[0].Length).Select(l => Math.Exp(perSeed.Average(r => Math.Log(r[l]))))];

    private static string Range(double[][] perSeed) =>
        FormattableString.Invariant($"{perSeed.Min(r => r.Min()):0.000}–{perSeed.Max(r => r.Max()):0.000}");
}
