using Ruler.Internal;

namespace Ruler;

/// <summary>
/// Fused residual add + norm as a module, the step of every Pre-norm block: h = x + u, y = norm(h), one pass over
/// the data (<see cref="RulerOps.AddForward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{double}, Span{double})"/>). Returns both h (the residual stream the next block adds to) and
/// y (what the next sublayer reads). The conventions are those of <see cref="Normalizer{T}"/>: PyTorch's parameter
/// names, gradients <b>accumulated</b> into <see cref="Parameter{T}.Grad"/>, one caller at a time, and a backward
/// that checks its input (here h).
/// </summary>
/// <remarks>
/// <para><b>One caller at a time.</b> A call that starts while another call on the same instance is running is refused
/// with an <see cref="InvalidOperationException"/> before it touches anything.</para>
/// <para><b>Backward checks its input.</b> Forward records h's shape and whether y overlapped h (then h's values are
/// gone). Backward refuses, with an <see cref="ArgumentException"/> naming <c>h</c>, an h of another shape, any h after
/// such a forward, and (unless <see cref="VerifyBackwardInput"/> is false) an h whose group statistics differ from the
/// saved ones. The gradient of h is the gradient of both x and u.</para>
/// </remarks>
/// <typeparam name="T">Element type: float, double, Half or <see cref="BFloat16"/>.</typeparam>
public abstract class AddNormalizer<T> where T : unmanaged
{
    private int _busy;
    private readonly InputFingerprint _input = new();
    private readonly List<Parameter<T>> _parameters = [];
    private readonly int[] _normalizedShape;
    private Parameter<T>? _weight;
    private Parameter<T>? _bias;
    private double[] _mean = [];
    private double[] _rstd = [];
    private T[] _dgamma = [];
    private T[] _dbeta = [];
    private GroupMoments[] _check = [];
    private RulerSpec? _ruler;
    private IRulerBackend _backend = CpuBackend.Instance;
    private readonly int _features;

    private protected AddNormalizer(int[] normalizedShape, double eps, bool center)
    {
        Check.ElementType<T>();
        ArgumentNullException.ThrowIfNull(normalizedShape);
        _features = (int)Check.Shape(normalizedShape, nameof(normalizedShape));
        Check.Eps(eps);
        _normalizedShape = normalizedShape.ToArray();
        Eps = eps;
        Center = center;
    }

    /// <summary>Added to the variance (or mean square) before the square root.</summary>
    public double Eps { get; }

    /// <summary>Whether the group mean is subtracted (LayerNorm) or not (RMSNorm).</summary>
    public bool Center { get; }

    /// <summary>The trailing dims normalized over.</summary>
    public IReadOnlyList<int> NormalizedShape => _normalizedShape;

    /// <summary>The learnable parameters (γ, and β where the layer has one).</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>Whether the layer has a learnable scale γ (<see cref="Weight"/>).</summary>
    public bool HasWeight => _weight is not null;

    /// <summary>Whether the layer has a learnable shift β (<see cref="Bias"/>).</summary>
    public bool HasBias => _bias is not null;

    /// <summary>γ (PyTorch's <c>weight</c>).</summary>
    /// <exception cref="InvalidOperationException">The layer has no γ; see <see cref="HasWeight"/>.</exception>
    public Parameter<T> Weight => _weight ?? throw AffineState.Missing(GetType(), "Weight", "γ", nameof(HasWeight));

    /// <summary>β (PyTorch's <c>bias</c>).</summary>
    /// <exception cref="InvalidOperationException">The layer has no β; see <see cref="HasBias"/>.</exception>
    public Parameter<T> Bias => _bias ?? throw AffineState.Missing(GetType(), "Bias", "β", nameof(HasBias));

    /// <summary>Per-group mean of h in the last forward (0 without centering).</summary>
    public ReadOnlySpan<double> SavedMean => _mean;

    /// <summary>Per-group 1/√(var + eps) of h in the last forward.</summary>
    public ReadOnlySpan<double> SavedRstd => _rstd;

    /// <summary>
    /// Whether Backward measures h again and refuses it unless its statistics are the saved ones (default true: one
    /// extra read of h per Backward). The shape and overwrite checks stay on.
    /// </summary>
    public bool VerifyBackwardInput { get; set; } = true;

    /// <summary>
    /// Where this layer's kernels run: <see cref="CpuBackend.Instance"/> unless set. Each call reads it once, so
    /// setting it between calls moves the layer; saved statistics and parameters stay in host memory either way.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    public IRulerBackend Backend
    {
        get => Volatile.Read(ref _backend);
        set => Volatile.Write(ref _backend, value ?? throw new ArgumentNullException(nameof(value), "Backend: expected a backend, e.g. CpuBackend.Instance; got null."));
    }

    /// <summary>The ruler for an input with this many dims (normalization over the trailing <see cref="NormalizedShape"/>).</summary>
    /// <param name="shape">The input's shape; its trailing dims must equal <see cref="NormalizedShape"/>.</param>
    /// <returns>The ruler the forward and backward use.</returns>
    /// <exception cref="ArgumentException">The trailing dims of <paramref name="shape"/> are not <see cref="NormalizedShape"/>.</exception>
    public RulerSpec RulerFor(ReadOnlySpan<int> shape)
    {
        TrailingShape.Check(shape, _normalizedShape);
        return _ruler ??= Center ? RulerSpec.LayerNorm(_normalizedShape.Length, Eps) : RulerSpec.RmsNorm(_normalizedShape.Length, Eps);
    }

    private protected void CreateAffine(bool weight, bool bias)
    {
        if (weight) _parameters.Add(_weight = new Parameter<T>("weight", Filled(_features, 1)) { NoWeightDecay = true });
        if (bias) _parameters.Add(_bias = new Parameter<T>("bias", Filled(_features, 0)) { NoWeightDecay = true });
    }

    /// <summary>h = x + u; y = norm(h). Saves h's statistics for <see cref="Backward"/>.</summary>
    /// <param name="x">The residual stream.</param>
    /// <param name="u">What the sublayer adds to it.</param>
    /// <param name="shape">The shape of x, u, h and y; its trailing dims are <see cref="NormalizedShape"/>.</param>
    /// <param name="h">Receives x + u (may be x or u: the residual stream updated in place).</param>
    /// <param name="y">Receives norm(h); if it overlaps h, <see cref="Backward"/> is refused afterwards.</param>
    /// <exception cref="ArgumentException">A shape or length is invalid (nothing is written).</exception>
    /// <exception cref="InvalidOperationException">Another call on this instance is running.</exception>
    public void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<int> shape, Span<T> h, Span<T> y)
    {
        Enter(nameof(Forward));
        try
        {
            _input.Record(x.Length, shape, overwritten: y.Overlaps(h));
            try
            {
                var ruler = RulerFor(shape);
                var layout = RulerOps.Resolve(ruler, x.Length, shape, "x");
                Check.Length(u.Length, layout.Count, nameof(u));
                Check.Length(h.Length, layout.Count, nameof(h));
                Check.Length(y.Length, layout.Count, nameof(y));
                if (_mean.Length != layout.GroupCount)
                {
                    _mean = new double[layout.GroupCount];
                    _rstd = new double[layout.GroupCount];
                }
                Backend.AddForward(layout, x, u, Affine(_weight), Affine(_bias), h, y, _mean, _rstd);
            }
            catch
            {
                _input.Clear();
                throw;
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// The gradient of h (and so of both x and u) from the gradient of y and, optionally, a gradient reaching h
    /// directly: dsum = dh + normᵀ(dy). Accumulates dγ and dβ into <see cref="Parameter{T}.Grad"/>.
    /// </summary>
    /// <param name="h">The h the last <see cref="Forward"/> wrote (unchanged).</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="dy">Gradient of y.</param>
    /// <param name="dh">Gradient reaching h along the residual path, or empty for none.</param>
    /// <param name="dsum">Receives the gradient of h, x and u (overwritten).</param>
    /// <exception cref="ArgumentException">
    /// A length is invalid, or <paramref name="h"/> is not the h of the last forward (another shape, other values, or
    /// overwritten by y); nothing is written.
    /// </exception>
    /// <exception cref="InvalidOperationException">No forward ran first, or another call on this instance is running.</exception>
    public void Backward(ReadOnlySpan<T> h, ReadOnlySpan<int> shape, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dsum)
    {
        Enter(nameof(Backward));
        try
        {
            _input.Verify(h.Length, shape, "h");
            var ruler = RulerFor(shape);
            var layout = RulerOps.Resolve(ruler, h.Length, shape, "h");
            Check.Length(dy.Length, layout.Count, nameof(dy));
            Check.OptionalLength(dh.Length, layout.Count, nameof(dh));
            Check.Length(dsum.Length, layout.Count, nameof(dsum));
            double[] mean = _mean, rstd = _rstd;
            if (VerifyBackwardInput) SavedStatistics.Verify(layout, h, mean, rstd, ref _check, "h");
            if (_dgamma.Length != layout.AffineSize)
            {
                _dgamma = new T[layout.AffineSize];
                _dbeta = new T[layout.AffineSize];
            }
            Backend.AddBackward(layout, h, mean, rstd, Affine(_weight), dy, dh, dsum,
                _weight is null ? default : _dgamma.AsSpan(), _bias is null ? default : _dbeta.AsSpan());
            if (_weight is not null) Accumulate(_weight.Grad, _dgamma);
            if (_bias is not null) Accumulate(_bias.Grad, _dbeta);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Zeroes every parameter gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.ZeroGrad();
    }

    /// <summary>The parameters by PyTorch's names (<c>weight</c>, <c>bias</c>), as copies; see <see cref="Normalizer{T}.StateDict"/>.</summary>
    /// <returns>A new dictionary from name to a copy of the values (<c>T[]</c>).</returns>
    public Dictionary<string, Array> StateDict() => ModuleState.Export(_parameters, null);

    /// <summary>Loads what <see cref="StateDict"/> exports: every key must be present with the right type and length, no other key.</summary>
    /// <param name="state">Name → values.</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException">A key is missing or unexpected, or a value has the wrong type or length (nothing is loaded).</exception>
    /// <exception cref="InvalidOperationException">Another call on this instance is running.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Array> state)
    {
        Enter(nameof(LoadStateDict));
        try
        {
            ModuleState.Import(AffineState.ModuleName(GetType()), state, _parameters, null);
        }
        finally
        {
            Exit();
        }
    }

    private void Enter(string method)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            throw new InvalidOperationException(
                $"{AffineState.ModuleName(GetType())}.{method}: another call on this instance is running. A module instance serves one caller at a time; " +
                "use one instance per thread (RulerOps and RulerSpec may be shared).");
    }

    private void Exit() => Volatile.Write(ref _busy, 0);

    private static ReadOnlySpan<T> Affine(Parameter<T>? p) => p is null ? default : p.Value;

    private static T[] Filled(int length, double value)
    {
        var a = new T[length];
        Array.Fill(a, Num.FromDouble<T>(value));
        return a;
    }

    private static void Accumulate(T[] into, ReadOnlySpan<T> add) => GradientAccumulation.Add<T>(into, add);
}

/// <summary>
/// Residual add + LayerNorm in one pass: h = x + u, y = LayerNorm(h), with PyTorch's <c>nn.LayerNorm</c> defaults
/// (eps 1e-5, γ = 1, β = 0). The same numbers as adding and then running <see cref="LayerNorm{T}"/>.
/// </summary>
/// <example>
/// <code>
/// var norm = new AddLayerNorm&lt;float&gt;([768]);
/// norm.Forward(stream, attentionOut, [tokens, 768], stream, y);       // stream += attentionOut; y = LN(stream)
/// norm.Backward(stream, [tokens, 768], dy, dStream, dsum);            // dsum = dStream + LNᵀ(dy); accumulates γ, β grads
/// </code>
/// </example>
/// <typeparam name="T">Element type.</typeparam>
public sealed class AddLayerNorm<T> : AddNormalizer<T> where T : unmanaged
{
    /// <summary>Creates a fused add + LayerNorm with PyTorch's LayerNorm defaults.</summary>
    /// <param name="normalizedShape">The trailing dims to normalize over, e.g. [D].</param>
    /// <param name="eps">Added to the variance; finite and ≥ 0 (see <see cref="RulerSpec(ReadOnlySpan{int}, bool, double, ReadOnlySpan{int})"/> for eps = 0).</param>
    /// <param name="elementwiseAffine">Learnable γ (ones) per normalized element.</param>
    /// <param name="bias">Learnable β (zeros) too, when <paramref name="elementwiseAffine"/> is on.</param>
    /// <exception cref="ArgumentException">The shape or eps is invalid.</exception>
    public AddLayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true)
        : base(normalizedShape, eps, center: true) => CreateAffine(elementwiseAffine, elementwiseAffine && bias);
}

/// <summary>
/// Residual add + RMSNorm in one pass: h = x + u, y = RMSNorm(h), with the defaults of <see cref="RmsNorm{T}"/> (and
/// PyTorch's <c>nn.RMSNorm</c>): eps is the machine epsilon of T unless given, γ = 1, no β.
/// </summary>
/// <example>
/// <code>
/// var norm = new AddRmsNorm&lt;float&gt;([768], eps: 1e-6);             // Llama-style eps
/// norm.Forward(stream, mlpOut, [tokens, 768], stream, y);
/// norm.Backward(stream, [tokens, 768], dy, dStream, dsum);
/// </code>
/// </example>
/// <typeparam name="T">Element type.</typeparam>
public sealed class AddRmsNorm<T> : AddNormalizer<T> where T : unmanaged
{
    /// <summary>Creates a fused add + RMSNorm with PyTorch's RMSNorm defaults.</summary>
    /// <param name="normalizedShape">The trailing dims to normalize over.</param>
    /// <param name="eps">Added to the mean square; null (the default) means <see cref="RulerSpec.MachineEpsilon{T}"/>.</param>
    /// <param name="elementwiseAffine">Learnable γ (ones) per normalized element.</param>
    /// <exception cref="ArgumentException">The shape or eps is invalid.</exception>
    public AddRmsNorm(int[] normalizedShape, double? eps = null, bool elementwiseAffine = true)
        : base(normalizedShape, eps ?? RulerSpec.MachineEpsilon<T>(), center: false) => CreateAffine(elementwiseAffine, false);
}
