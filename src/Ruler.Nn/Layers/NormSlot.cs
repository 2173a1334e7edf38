namespace Ruler.Nn;

/// <summary>
/// A normalization slot in a model: holds a Ruler <see cref="Normalizer{T}"/> (LayerNorm, RMSNorm, GroupNorm,
/// InstanceNorm, BatchNorm, DyT), the <see cref="CenterOnly{T}"/> control, or nothing, and runs it on the
/// activation shape the model gives: (rows, C) for tokens, (N, C, H, W) for images.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class NormSlot<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CenterOnly<T>? _center;
    private readonly int[] _shape;
    private T[]? _x, _y, _dx;

    private NormSlot(string name, NormKind kind, Normalizer<T>? normalizer, CenterOnly<T>? center, int rank)
    {
        Name = name;
        Kind = kind;
        Normalizer = normalizer;
        _center = center;
        _shape = new int[rank];
    }

    /// <summary>A slot for token activations (rows, dim): per-token rulers, or BatchNorm over all rows (batch × time).</summary>
    /// <param name="name">Prefix of its parameters' names, e.g. "h.0.ln1".</param>
    /// <param name="kind">What fills it (InstanceNorm has no meaning for tokens and is refused).</param>
    /// <param name="dim">Features per token.</param>
    /// <param name="groups">GroupNorm's group count (must divide dim).</param>
    public static NormSlot<T> ForTokens(string name, NormKind kind, int dim, int groups = 1) => kind switch
    {
        NormKind.None => new(name, kind, null, null, 2),
        NormKind.LayerNorm => new(name, kind, new LayerNorm<T>([dim]), null, 2),
        NormKind.RmsNorm => new(name, kind, new RmsNorm<T>([dim]), null, 2),
        NormKind.GroupNorm => new(name, kind, new GroupNorm<T>(groups, dim), null, 2),
        NormKind.BatchNorm => new(name, kind, new BatchNorm<T>(dim), null, 2),
        NormKind.DyT => new(name, kind, new DynamicTanh<T>([dim]), null, 2),
        NormKind.CenterOnly => new(name, kind, null, new CenterOnly<T>(dim), 2),
        _ => throw new ArgumentException($"NormSlot: {kind} has no per-token form; use it on images.", nameof(kind)),
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
            NormKind.LayerNorm => new(name, kind, new LayerNorm<T>(chw), null, 4),
            NormKind.RmsNorm => new(name, kind, new RmsNorm<T>(chw), null, 4),
            NormKind.GroupNorm => new(name, kind, new GroupNorm<T>(groups, channels), null, 4),
            NormKind.InstanceNorm => new(name, kind, new InstanceNorm<T>(channels, affine: true), null, 4),
            NormKind.BatchNorm => new(name, kind, new BatchNorm<T>(channels), null, 4),
            NormKind.DyT => new(name, kind, new DynamicTanh<T>(chw), null, 4),
            NormKind.CenterOnly => new(name, kind, null, new CenterOnly<T>(channels * height * width), 4),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown norm kind."),
        };
    }

    /// <summary>A slot around a normalizer built by the caller (any eps, momentum, affine choice), for activations of the given rank (2: tokens, 4: images).</summary>
    /// <param name="name">Prefix of its parameters' names.</param>
    /// <param name="normalizer">One of the Ruler library's normalizers.</param>
    /// <param name="rank">Rank of the shapes <see cref="Forward"/> will get.</param>
    public static NormSlot<T> From(string name, Normalizer<T> normalizer, int rank)
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "NormSlot: rank must be >= 1.");
        var kind = normalizer switch
        {
            LayerNorm<T> => NormKind.LayerNorm,
            RmsNorm<T> => NormKind.RmsNorm,
            GroupNorm<T> => NormKind.GroupNorm,
            InstanceNorm<T> => NormKind.InstanceNorm,
            BatchNorm<T> => NormKind.BatchNorm,
            DynamicTanh<T> => NormKind.DyT,
            _ => throw new ArgumentException($"NormSlot: unknown normalizer {normalizer.GetType().Name}.", nameof(normalizer)),
        };
        return new(name, kind, normalizer, null, rank);
    }

    /// <summary>Prefix of its parameters' names.</summary>
    public string Name { get; }

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
        if (_center is not null) return _center.Forward(x);
        if (Normalizer is null) return x;
        var y = Ensure(ref _y, x.Length);
        Normalizer.Forward(x, _shape, y);
        return y;
    }

    /// <summary>dx from dy for the x of the last forward; accumulates γ, β (and α) gradients.</summary>
    public T[] Backward(T[] dy)
    {
        var x = _x ?? throw new InvalidOperationException("NormSlot.Backward before Forward.");
        if (_center is not null) return _center.Backward(dy);
        if (Normalizer is null) return dy;
        var dx = Ensure(ref _dx, x.Length);
        Normalizer.Backward(x, _shape, dy, dx);
        return dx;
    }
}
