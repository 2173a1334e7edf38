namespace Ruler.Cli.Explain;

/// <summary>max |Δy| when the input is transformed, and whether that is below the invariance threshold.</summary>
internal sealed record InvarianceCell(bool Invariant, double MaxAbsChange);

/// <summary>
/// Which transforms x → a·x + b each normalizer cannot see, measured live: the same normalizer runs on x and on
/// the transformed x, and the largest output change is reported. The transform's (a, b) is drawn per unit:
/// one pair for the whole tensor (global), per channel, per sample, or per (sample, group of channels).
/// By algebra a normalizer is invariant exactly when each of its groups sees one (a, b).
/// </summary>
internal static class InvarianceTable
{
    public const int N = 8, C = 16, H = 6, W = 6, Groups = 4;

    /// <summary>Below this max |Δy| a cell counts as invariant (eps keeps it from being exactly 0).</summary>
    public const double Threshold = 1e-4;

    public static readonly string[] Normalizers = ["BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm", "RmsNorm"];

    public static readonly string[] Transforms = ["global", "per_channel", "per_sample", "per_group"];

    public static int[] Shape => [N, C, H, W];

    /// <summary>Computes normalizer → transform → cell. With <paramref name="scaleOnly"/>, b = 0 (pure positive scaling).</summary>
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

    /// <summary>The normalizer as E1 defines it (BatchNorm in training mode, LayerNorm/RMSNorm over (C, H, W), GroupNorm with 4 groups).</summary>
    public static Normalizer<double> Create(string normalizer) => normalizer switch
    {
        "BatchNorm" => new BatchNorm<double>(C),
        "LayerNorm" => new LayerNorm<double>([C, H, W]),
        "GroupNorm" => new GroupNorm<double>(Groups, C),
        "InstanceNorm" => new InstanceNorm<double>(C),
        "RmsNorm" => new RmsNorm<double>([C, H, W]),
        _ => throw new ArgumentOutOfRangeException(nameof(normalizer), normalizer, "unknown normalizer"),
    };

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
            a[u] = 0.5 + 3.5 * random.NextDouble();
            b[u] = scaleOnly ? 0 : 4 * random.NextDouble() - 2;
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
