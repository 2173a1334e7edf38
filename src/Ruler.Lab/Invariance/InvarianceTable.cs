namespace Ruler.Lab.Invariance;

/// <summary>max |Δy| when the input is transformed, and whether that is below the invariance threshold.</summary>
/// <param name="Invariant">True when <paramref name="MaxAbsChange"/> is below <see cref="InvarianceTable.Threshold"/>.</param>
/// <param name="MaxAbsChange">The largest change of any output element.</param>
public sealed record InvarianceCell(bool Invariant, double MaxAbsChange);

/// <summary>
/// Which transforms x → a·x + b each normalizer cannot see, measured live: the same normalizer runs on x and on
/// the transformed x, and the largest output change is reported. The transform's (a, b) is drawn per unit:
/// one pair for the whole tensor (global), per channel, per sample, or per (sample, group of channels).
/// By algebra a normalizer is invariant exactly when each of its groups sees one (a, b).
/// Shared by <c>ruler explain</c> and the lab's E1.
/// </summary>
public static class InvarianceTable
{
    /// <summary>Batch size of the test tensor.</summary>
    public const int N = 8;

    /// <summary>Channels of the test tensor.</summary>
    public const int C = 16;

    /// <summary>Height of the test tensor.</summary>
    public const int H = 6;

    /// <summary>Width of the test tensor.</summary>
    public const int W = 6;

    /// <summary>GroupNorm's group count, and the channel groups of the per-group transform.</summary>
    public const int Groups = 4;

    /// <summary>Below this max |Δy| a cell counts as invariant (eps keeps it from being exactly 0).</summary>
    public const double Threshold = 1e-4;

    /// <summary>Above this max |Δy| a cell that should change counts as changed (LAB.md E1).</summary>
    public const double ChangeThreshold = 1e-2;

    /// <summary>The range a is drawn from, uniformly: a ∈ [<see cref="ScaleMin"/>, <see cref="ScaleMax"/>].</summary>
    public const double ScaleMin = 0.5, ScaleMax = 4;

    /// <summary>The range b is drawn from, uniformly, when the transform shifts.</summary>
    public const double ShiftMin = -2, ShiftMax = 2;

    /// <summary>The normalizers in table order: the library's one list, <see cref="Ruler.Normalizers.All"/>.</summary>
    public static readonly string[] Normalizers = [.. Ruler.Normalizers.All.Select(n => n.Name)];

    /// <summary>The transforms in table order: one (a, b) for the whole tensor, per channel, per sample, per (sample, group).</summary>
    public static readonly string[] Transforms = ["global", "per_channel", "per_sample", "per_group"];

    /// <summary>The test tensor's shape (N, C, H, W).</summary>
    public static int[] Shape => [N, C, H, W];

    /// <summary>Computes normalizer → transform → cell. With <paramref name="scaleOnly"/>, b = 0 (pure positive scaling).</summary>
    /// <param name="scaleOnly">Draw only a (b = 0).</param>
    /// <param name="seed">Seeds x and the (a, b) draws.</param>
    public static Dictionary<string, Dictionary<string, InvarianceCell>> Compute(bool scaleOnly = false, int seed = 1)
    {
        var random = new Random(seed);
        var x = new double[N * C * H * W];
        for (int i = 0; i < x.Length; i++) x[i] = 3 * (2 * random.NextDouble() - 1) + 0.9 * (i % 7);
        var table = new Dictionary<string, Dictionary<string, InvarianceCell>>();
        foreach (string normalizer in Normalizers)
        {
            var row = new Dictionary<string, InvarianceCell>();
            foreach (string transform in Transforms)
            {
                double[] moved = Transform(x, transform, scaleOnly, new Random(seed + transform.Length));
                double change = MaxAbsDifference(Apply(normalizer, x), Apply(normalizer, moved));
                row[transform] = new InvarianceCell(change < Threshold, change);
            }
            table[normalizer] = row;
        }
        return table;
    }

    /// <summary>
    /// What the algebra says: invariant exactly when every statistics group of the normalizer sees one (a, b).
    /// RMSNorm does not center, so a shift b always reaches it; with <paramref name="scaleOnly"/> it is invariant
    /// where LayerNorm is (each sample one a).
    /// </summary>
    /// <param name="normalizer">One of <see cref="Normalizers"/>.</param>
    /// <param name="transform">One of <see cref="Transforms"/>.</param>
    /// <param name="scaleOnly">Whether b = 0.</param>
    public static bool ExpectedInvariant(string normalizer, string transform, bool scaleOnly)
    {
        var info = Ruler.Normalizers.Get(normalizer);
        // Invariant exactly when every group of the normalizer sees one (a, b): the transform's unit must not split a group.
        bool constantOnEachGroup = transform switch
        {
            "global" => true,
            // A group spans channels unless it holds one channel.
            "per_channel" => info.Channels == ChannelSharing.One,
            // A group spans samples only under BatchNorm.
            "per_sample" => !info.SharesAcrossSamples,
            // The transform's channel groups are GroupNorm's (Groups of them): a group of one or of those channels fits.
            "per_group" => !info.SharesAcrossSamples && info.Channels != ChannelSharing.All,
            _ => throw new ArgumentOutOfRangeException(nameof(transform), transform, "unknown transform"),
        };
        // Without centering, only a pure scaling (b = 0) cancels.
        return constantOnEachGroup && (info.Centers || scaleOnly);
    }

    /// <summary>The normalizer as E1 defines it (BatchNorm in training mode, LayerNorm/RMSNorm over (C, H, W), GroupNorm with 4 groups): the list's image module.</summary>
    /// <param name="normalizer">One of <see cref="Normalizers"/>.</param>
    public static Normalizer<double> Create(string normalizer) => Ruler.Normalizers.Get(normalizer).ForImages<double>(C, H, W, Groups);

    private static double[] Apply(string normalizer, double[] x)
    {
        var y = new double[x.Length];
        Create(normalizer).Forward(x, Shape, y);
        return y;
    }

    private static double[] Transform(double[] x, string transform, bool scaleOnly, Random random)
    {
        int units = transform switch
        {
            "global" => 1,
            "per_channel" => C,
            "per_sample" => N,
            "per_group" => N * Groups,
            _ => throw new ArgumentOutOfRangeException(nameof(transform)),
        };
        var a = new double[units];
        var b = new double[units];
        for (int u = 0; u < units; u++)
        {
            a[u] = ScaleMin + (ScaleMax - ScaleMin) * random.NextDouble();
            b[u] = scaleOnly ? 0 : ShiftMin + (ShiftMax - ShiftMin) * random.NextDouble();
        }
        var moved = new double[x.Length];
        int plane = H * W;
        for (int i = 0; i < x.Length; i++)
        {
            int n = i / (C * plane), c = i / plane % C;
            int u = transform switch
            {
                "global" => 0,
                "per_channel" => c,
                "per_sample" => n,
                _ => n * Groups + c / (C / Groups),
            };
            moved[i] = a[u] * x[i] + b[u];
        }
        return moved;
    }

    private static double MaxAbsDifference(double[] p, double[] q)
    {
        double max = 0;
        for (int i = 0; i < p.Length; i++) max = Math.Max(max, Math.Abs(p[i] - q[i]));
        return max;
    }
}
