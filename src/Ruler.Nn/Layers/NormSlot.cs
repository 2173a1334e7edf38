namespace Ruler.Nn;

/// <summary>
/// A normalization slot in a model: holds a Ruler <see cref="Normalizer{T}"/> (LayerNorm, RMSNorm, GroupNorm,
/// InstanceNorm, BatchNorm, DyT), the <see cref="CenterOnly{T}"/> control, or nothing, and runs it on the
/// activation shape the model gives: (rows, C) for tokens, (N, C, H, W) for images.
/// <para>
/// A slot also runs the residual add that feeds it (<see cref="AddForward"/>: h = x + u, y = norm(h)) and the
/// matching backward (<see cref="AddBackward"/>: dh = dResidual + normᵀ(dy)). For LayerNorm and RMSNorm these are
/// one pass each of the library's fused kernels (<see cref="RulerOps.AddForward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{double}, Span{double})"/>, <see cref="RulerOps.AddBackward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{T})"/>),
/// the kernels <c>ruler bench</c> measures; other fillings add and normalize in two steps.
/// </para>
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class NormSlot<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CenterOnly<T>? _center;
    private readonly int[] _shape;
    private readonly RulerNormalizer<T>? _fusable;
    private T[]? _x, _y, _dx, _h, _sumY, _dsum, _dgamma, _dbeta;
    private double[] _mean = [], _rstd = [];
    private RulerSpec? _ruler;
    private int[]? _rulerShape;
    private T[]? _lastY;

    private NormSlot(string name, NormKind kind, Normalizer<T>? normalizer, CenterOnly<T>? center, int rank)
    {
        Name = name;
        Kind = kind;
        Normalizer = normalizer;
        _center = center;
        _shape = new int[rank];
        // LayerNorm and RMSNorm always normalize with the statistics of their input (no running statistics, no
        // eval-mode difference) and view the input as it is: the fused kernels compute exactly their forward.
        _fusable = normalizer is LayerNorm<T> or RmsNorm<T> ? (RulerNormalizer<T>)normalizer : null;
    }

    /// <summary>A slot for token activations (rows, dim): per-token rulers, or BatchNorm over all rows (batch × time).</summary>
    /// <param name="name">Prefix of its parameters' names, e.g. "h.0.ln1".</param>
    /// <param name="kind">What fills it (InstanceNorm has no meaning for tokens and is refused).</param>
    /// <param name="dim">Features per token.</param>
    /// <param name="groups">GroupNorm's group count (must divide dim).</param>
    public static NormSlot<T> ForTokens(string name, NormKind kind, int dim, int groups = 1) => kind switch
    {
        NormKind.None => new(name, kind, null, null, 2),
        NormKind.DyT => new(name, kind, new DynamicTanh<T>([dim]), null, 2),
        NormKind.CenterOnly => new(name, kind, null, new CenterOnly<T>(dim), 2),
        _ when Info(kind) is { HasTokenForm: false } => throw new ArgumentException($"NormSlot: {kind} has no per-token form; use it on images.", nameof(kind)),
        _ => new(name, kind, Info(kind).ForTokens<T>(dim, groups), null, 2),
    };

    /// <summary>A slot for images (N, C, H, W): BatchNorm/GroupNorm/InstanceNorm per channel, LayerNorm/RMSNorm/DyT/center-only over (C, H, W).</summary>
    /// <param name="name">Prefix of its parameters' names, e.g. "conv.0.norm".</param>
    /// <param name="kind">What fills it.</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H (LayerNorm, RMSNorm and DyT have an affine per (c, h, w)).</param>
    /// <param name="width">W.</param>
    /// <param name="groups">GroupNorm's group count (must divide C).</param>
    public static NormSlot<T> ForImages(string name, NormKind kind, int channels, int height, int width, int groups = 1)
    {
        int[] chw = [channels, height, width];
        return kind switch
        {
            NormKind.None => new(name, kind, null, null, 4),
            NormKind.DyT => new(name, kind, new DynamicTanh<T>(chw), null, 4),
            NormKind.CenterOnly => new(name, kind, null, new CenterOnly<T>(channels * height * width), 4),
            _ => new(name, kind, Info(kind).ForImages<T>(channels, height, width, groups), null, 4),
        };
    }

    /// <summary>The library's entry for a normalizer kind (<see cref="Normalizers"/>: one list, read here by name).</summary>
    private static NormalizerInfo Info(NormKind kind) =>
        Normalizers.All.FirstOrDefault(n => n.Name == kind.ToString())
        ?? throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown norm kind.");

    /// <summary>A slot around a normalizer built by the caller (any eps, momentum, affine choice), for activations of the given rank (2: tokens, 4: images).</summary>
    /// <param name="name">Prefix of its parameters' names.</param>
    /// <param name="normalizer">One of the Ruler library's normalizers.</param>
    /// <param name="rank">Rank of the shapes <see cref="Forward"/> will get.</param>
    public static NormSlot<T> From(string name, Normalizer<T> normalizer, int rank)
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "NormSlot: rank must be >= 1.");
        ArgumentNullException.ThrowIfNull(normalizer);
        NormKind kind = normalizer is DynamicTanh<T> ? NormKind.DyT
            : Normalizers.Of(normalizer) is { } info && Enum.TryParse<NormKind>(info.Name, out var named) ? named
            : throw new ArgumentException($"NormSlot: unknown normalizer {normalizer.GetType().Name}.", nameof(normalizer));
        return new(name, kind, normalizer, null, rank);
    }

    /// <summary>Prefix of its parameters' names.</summary>
    public string Name { get; }

    /// <summary>Whether <see cref="AddForward"/> and <see cref="AddBackward"/> run the library's fused residual kernels (LayerNorm and RMSNorm).</summary>
    public bool FusesResidualAdd => _fusable is not null;

    /// <summary>Whether the last forward was a fused <see cref="AddForward"/> (so its statistics are the slot's, not the normalizer's).</summary>
    internal bool LastForwardFused { get; private set; }

    /// <summary>Whether a forward has run (so a backward has an input to work on).</summary>
    internal bool HasInput => _x is not null;

    /// <summary>True when <paramref name="y"/> is this slot's output for <paramref name="x"/> from its last forward.</summary>
    internal bool Produced(T[] x, T[] y) => ReferenceEquals(_x, x) && ReferenceEquals(_lastY, y);

    /// <summary>What fills the slot.</summary>
    public NormKind Kind { get; }

    /// <summary>The Ruler normalizer, or null for none and center-only.</summary>
    public Normalizer<T>? Normalizer { get; }

    /// <inheritdoc />
    public override IReadOnlyList<Parameter<T>> Parameters => Normalizer?.Parameters ?? [];

    /// <inheritdoc />
    public override IReadOnlyList<NamedParameter<T>> NamedParameters => [.. Parameters.Select(p => new NamedParameter<T>(Name + "." + p.Name, p))];

    /// <summary>Running mean and variance when the normalizer tracks them (PyTorch's names), else none.</summary>
    public IReadOnlyList<NamedBuffer<T>> NamedBuffers =>
        Normalizer is RunningStatisticsNormalizer<T> { Running: { } running }
            ? [new(Name + ".running_mean", running.Mean), new(Name + ".running_var", running.Variance)]
            : [];

    /// <inheritdoc />
    public override bool Training
    {
        get => base.Training;
        set
        {
            base.Training = value;
            if (Normalizer is not null) Normalizer.Training = value;
        }
    }

    /// <summary>y = norm(x) for x of the given shape ((rows, dim) or (N, C, H, W)); the identity returns x itself.</summary>
    public T[] Forward(T[] x, ReadOnlySpan<int> shape)
    {
        if (shape.Length != _shape.Length) throw new ArgumentException($"NormSlot: expected a rank-{_shape.Length} shape, got rank {shape.Length}.", nameof(shape));
        shape.CopyTo(_shape);
        _x = x;
        LastForwardFused = false;
        return _lastY = Normalize(x);
    }

    /// <summary>
    /// The residual add and this norm in one step: h = x + u, y = norm(h), with h the new residual stream and y
    /// what the next sublayer reads. LayerNorm and RMSNorm run one pass of <see cref="RulerOps.AddForward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{double}, Span{double})"/>
    /// (h is rounded to T before it is measured, so h and y are those of the two-step form up to the last bits
    /// of y); other fillings add, then normalize. Both buffers are the slot's, valid until its next forward;
    /// backward is <see cref="AddBackward"/> (or <see cref="Backward"/> when nothing reaches h directly).
    /// </summary>
    /// <param name="x">The residual stream.</param>
    /// <param name="u">What is added to it (a sublayer's output); same length.</param>
    /// <param name="shape">Shape of x: (rows, dim) or (N, C, H, W).</param>
    public (T[] Sum, T[] Y) AddForward(T[] x, T[] u, ReadOnlySpan<int> shape)
    {
        if (shape.Length != _shape.Length) throw new ArgumentException($"NormSlot: expected a rank-{_shape.Length} shape, got rank {shape.Length}.", nameof(shape));
        if (u.Length != x.Length) throw new ArgumentException($"NormSlot.AddForward: u needs {x.Length} elements, got {u.Length}.", nameof(u));
        shape.CopyTo(_shape);
        var h = Ensure(ref _h, x.Length);
        _x = h;
        if (_fusable is null)
        {
            VectorOps.Add<T>(x, u, h);
            LastForwardFused = false;
            return (h, _lastY = Normalize(h));
        }
        var ruler = RulerFor(shape);
        EnsureStatistics(ruler.Resolve(shape).GroupCount);
        var y = Ensure(ref _sumY, x.Length);
        RulerOps.AddForward<T>(_fusable.Backend, ruler, x, u, shape, Affine(_fusable.HasWeight ? _fusable.Weight : null), Affine(_fusable.HasBias ? _fusable.Bias : null), h, y, _mean, _rstd);
        LastForwardFused = true;
        return (h, _lastY = y);
    }

    /// <summary>dx from dy for the x of the last forward; accumulates γ, β (and α) gradients.</summary>
    public T[] Backward(T[] dy) => _fusable is null ? NormBackward(dy) : AddBackward(dy, null);

    /// <summary>
    /// The gradient of the slot's input h (the residual stream of <see cref="AddForward"/>, or the x of
    /// <see cref="Forward"/>): dh = dResidual + normᵀ(dy), where dResidual is the gradient reaching h directly
    /// (along the residual path). It is also the gradient of both addends x and u of <see cref="AddForward"/>.
    /// LayerNorm and RMSNorm run one pass of <see cref="RulerOps.AddBackward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{T})"/>. Accumulates γ, β (and α)
    /// gradients; returns a buffer the slot owns.
    /// </summary>
    /// <param name="dy">Gradient of the slot's output y.</param>
    /// <param name="dResidual">Gradient reaching h along the residual path, or null for none.</param>
    public T[] AddBackward(T[] dy, T[]? dResidual)
    {
        var x = _x ?? throw new InvalidOperationException("NormSlot.Backward before Forward.");
        if (dy.Length != x.Length) throw new ArgumentException($"NormSlot: dy needs {x.Length} elements, got {dy.Length}.", nameof(dy));
        if (dResidual is not null && dResidual.Length != x.Length)
            throw new ArgumentException($"NormSlot.AddBackward: dResidual needs {x.Length} elements, got {dResidual.Length}.", nameof(dResidual));
        var dsum = Ensure(ref _dsum, x.Length);
        if (_fusable is null)
        {
            var dn = NormBackward(dy);
            if (dResidual is null) dn.AsSpan().CopyTo(dsum);
            else VectorOps.Add<T>(dResidual, dn, dsum);
            return dsum;
        }
        // After a fused forward the statistics are the slot's; after a plain one, the normalizer's own.
        ReadOnlySpan<double> mean = LastForwardFused ? _mean : _fusable.SavedMean;
        ReadOnlySpan<double> rstd = LastForwardFused ? _rstd : _fusable.SavedRstd;
        var (weight, bias) = (_fusable.HasWeight ? _fusable.Weight : null, _fusable.HasBias ? _fusable.Bias : null);
        var dgamma = weight is null ? default : Ensure(ref _dgamma, weight.Grad.Length).AsSpan();
        var dbeta = bias is null ? default : Ensure(ref _dbeta, bias.Grad.Length).AsSpan();
        // The kernel overwrites dγ and dβ; a layer accumulates them, like every other backward here.
        RulerOps.AddBackward<T>(_fusable.Backend, RulerFor(_shape), x, _shape, mean, rstd, Affine(weight), dy, dResidual, dsum, dgamma, dbeta);
        if (weight is not null) VectorOps.Add<T>(weight.Grad, dgamma, weight.Grad);
        if (bias is not null) VectorOps.Add<T>(bias.Grad, dbeta, bias.Grad);
        return dsum;
    }

    private T[] Normalize(T[] x)
    {
        if (_center is not null) return _center.Forward(x);
        if (Normalizer is null) return x;
        var y = Ensure(ref _y, x.Length);
        Normalizer.Forward(x, _shape, y);
        return y;
    }

    private T[] NormBackward(T[] dy)
    {
        var x = _x ?? throw new InvalidOperationException("NormSlot.Backward before Forward.");
        if (_center is not null) return _center.Backward(dy);
        if (Normalizer is null) return dy;
        var dx = Ensure(ref _dx, x.Length);
        Normalizer.Backward(x, _shape, dy, dx);
        return dx;
    }

    /// <summary>The fusable normalizer's ruler for this shape, kept while the shape stays the same (its layout is cached by the ruler).</summary>
    private RulerSpec RulerFor(ReadOnlySpan<int> shape)
    {
        if (_ruler is null || !shape.SequenceEqual(_rulerShape))
        {
            // LayerNorm's and RMSNorm's view is the input's own shape.
            _ruler = _fusable!.RulerFor(shape).Ruler;
            _rulerShape = shape.ToArray();
        }
        return _ruler;
    }

    private void EnsureStatistics(int groups)
    {
        if (_mean.Length == groups) return;
        _mean = new double[groups];
        _rstd = new double[groups];
    }

    private static ReadOnlySpan<T> Affine(Parameter<T>? p) => p is null ? default : p.Value;
}
