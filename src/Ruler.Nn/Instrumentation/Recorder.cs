namespace Ruler.Nn;

/// <summary>
/// Optional instrumentation a model fills while it runs: named series of numbers, appended in the order the
/// layers run. Attach one to a model (or a <see cref="ResidualBlock{T}"/>), run forward/backward, read the series,
/// <see cref="Clear"/> before the next step. Models do no instrumentation work when none is attached.
/// </summary>
public sealed class Recorder
{
    /// <summary>RMS of the residual stream: the model's embedding output first, then each residual block's output.</summary>
    public const string StreamRms = "stream.rms";

    /// <summary>‖F(x)‖/‖x‖ of each residual block, x the stream entering it (Frobenius norms over the batch).</summary>
    public const string UpdateRatio = "update.ratio";

    /// <summary>RMS of the branch output F(·) of each residual block.</summary>
    public const string BranchRms = "branch.rms";

    /// <summary>RMS of x + F(x) before the norm in each Post-norm block.</summary>
    public const string SumRms = "sum.rms";

    /// <summary>RMS of each hidden layer's output after its nonlinearity (CNN: after every conv/norm/ReLU).</summary>
    public const string ActivationRms = "activation.rms";

    /// <summary>Prefix of the per-parameter gradient norm series: "grad:" + parameter name, one value per backward.</summary>
    public const string GradPrefix = "grad:";

    private readonly Dictionary<string, List<double>> _series = [];
    private readonly List<string> _order = [];

    /// <summary>Series names in the order they first appeared.</summary>
    public IReadOnlyList<string> Names => _order;

    /// <summary>The values of a series (empty when never recorded).</summary>
    public IReadOnlyList<double> this[string series] => _series.TryGetValue(series, out var list) ? list : [];

    /// <summary>Appends a value to a series.</summary>
    public void Add(string series, double value)
    {
        if (!_series.TryGetValue(series, out var list))
        {
            _series[series] = list = [];
            _order.Add(series);
        }
        list.Add(value);
    }

    /// <summary>Appends ‖grad‖₂ of every parameter to its "grad:" + name series.</summary>
    public void AddGradientNorms<T>(IEnumerable<NamedParameter<T>> parameters) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var (name, p) in parameters) Add(GradPrefix + name, Norm<T>(p.Grad));
    }

    /// <summary>Forgets every series.</summary>
    public void Clear()
    {
        _series.Clear();
        _order.Clear();
    }

    /// <summary>√(Σx²), accumulated in double.</summary>
    public static double Norm<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = 0;
        foreach (T v in x)
        {
            double d = double.CreateTruncating(v);
            sum += d * d;
        }
        return Math.Sqrt(sum);
    }

    /// <summary>√(mean x²), accumulated in double.</summary>
    public static double Rms<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        x.IsEmpty ? 0 : Norm(x) / Math.Sqrt(x.Length);
}
