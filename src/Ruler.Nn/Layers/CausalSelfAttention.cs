namespace Ruler.Nn;

/// <summary>
/// Causal multi-head self-attention (GPT-2's): qkv = x·W_qkvᵀ + b (one Linear, dim → 3·dim, laid out [q | k | v]),
/// per head att = softmax(q·kᵀ/√hs) over positions ≤ t, out = att·v, then proj (dim → dim) and dropout.
/// Forward keeps the attention matrix (batch, heads, time, time) for backward; the work is split over
/// (batch, head) pairs, each writing only its own slices, so results do not depend on the thread count.
/// With <c>uniformAttention</c> the query and key weights and biases start at zero (W_Q = W_K = 0), so at
/// initialization every position attends uniformly to its prefix (Xiong et al. 2020's setting).
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class CausalSelfAttention<T> : Sublayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private readonly Dropout<T>? _dropout;
    private T[]? _att, _out, _dqkv;
    private T[] _qkv = [];
    private int _batch, _time;

    /// <summary>Creates qkv ("name.qkv") and proj ("name.proj") with PyTorch's default init.</summary>
    public CausalSelfAttention(string name, int dim, int heads, Rng rng, bool bias = true, bool uniformAttention = false,
        double dropout = 0, ulong dropoutSeed = 0)
    {
        if (heads < 1 || dim % heads != 0) throw new ArgumentException($"CausalSelfAttention {name}: dim {dim} must be a multiple of heads {heads}.", nameof(heads));
        Heads = heads;
        Qkv = new Linear<T>(name + ".qkv", dim, 3 * dim, rng, bias);
        Proj = new Linear<T>(name + ".proj", dim, dim, rng, bias);
        if (uniformAttention)
        {
            Qkv.Weight.Value.AsSpan(0, 2 * dim * dim).Clear();
            Qkv.Bias?.Value.AsSpan(0, 2 * dim).Clear();
        }
        if (dropout > 0) _dropout = new Dropout<T>(dropout, dropoutSeed);
        _parameters = [.. Qkv.Parameters, .. Proj.Parameters];
    }

    /// <summary>Number of heads.</summary>
    public int Heads { get; }

    /// <summary>dim → 3·dim, rows ordered q, k, v.</summary>
    public Linear<T> Qkv { get; }

    /// <summary>dim → dim output projection.</summary>
    public Linear<T> Proj { get; }

    /// <inheritdoc />
    public override int Dim => Qkv.InFeatures;

    /// <inheritdoc />
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <inheritdoc />
    public override bool Training
    {
        get => base.Training;
        set
        {
            base.Training = value;
            if (_dropout is not null) _dropout.Training = value;
        }
    }

    /// <summary>The attention weights of the last forward, (batch, heads, time, time), zero above the diagonal.</summary>
    public ReadOnlySpan<T> Attention => _att;

    /// <inheritdoc />
    public override T[] Forward(T[] x, int batch, int time)
    {
        (_batch, _time) = (batch, time);
        int c = Dim, hs = c / Heads;
        _qkv = Qkv.Forward(x, batch * time);
        var qkv = _qkv;
        var att = Ensure(ref _att, batch * Heads * time * time);
        var output = Ensure(ref _out, batch * time * c);
        T scale = Const(1 / Math.Sqrt(hs));
        Parallelism.For(batch * Heads, bh =>
        {
            int b = bh / Heads, h = bh % Heads;
            for (int t = 0; t < time; t++)
            {
                var q = qkv.AsSpan((b * time + t) * 3 * c + h * hs, hs);
                var row = att.AsSpan((bh * time + t) * time, time);
                T max = T.NegativeInfinity;
                for (int u = 0; u <= t; u++)
                {
                    var k = qkv.AsSpan((b * time + u) * 3 * c + c + h * hs, hs);
                    T dot = T.Zero;
                    for (int i = 0; i < hs; i++) dot += q[i] * k[i];
                    row[u] = dot * scale;
                    if (row[u] > max) max = row[u];
                }
                T sum = T.Zero;
                for (int u = 0; u <= t; u++)
                {
                    row[u] = T.Exp(row[u] - max);
                    sum += row[u];
                }
                T inv = T.One / sum;
                for (int u = 0; u <= t; u++) row[u] *= inv;
                row[(t + 1)..].Clear();
                var o = output.AsSpan((b * time + t) * c + h * hs, hs);
                o.Clear();
                for (int u = 0; u <= t; u++)
                {
                    var v = qkv.AsSpan((b * time + u) * 3 * c + 2 * c + h * hs, hs);
                    T a = row[u];
                    for (int i = 0; i < hs; i++) o[i] += a * v[i];
                }
            }
        });
        var y = Proj.Forward(output, batch * time);
        return _dropout is null ? y : _dropout.Forward(y);
    }

    /// <inheritdoc />
    public override T[] Backward(T[] dy)
    {
        var att = _att ?? throw new InvalidOperationException("CausalSelfAttention.Backward before Forward.");
        if (_dropout is not null) dy = _dropout.Backward(dy);
        var dOut = Proj.Backward(dy);
        int batch = _batch, time = _time, c = Dim, hs = c / Heads;
        var qkv = _qkv;
        var dqkv = Ensure(ref _dqkv, qkv.Length);
        Array.Clear(dqkv);
        T scale = Const(1 / Math.Sqrt(hs));
        Parallelism.For(batch * Heads, bh =>
        {
            int b = bh / Heads, h = bh % Heads;
            Span<T> dAtt = time <= 1024 ? stackalloc T[time] : new T[time];
            for (int t = 0; t < time; t++)
            {
                var row = att.AsSpan((bh * time + t) * time, time);
                var dO = dOut.AsSpan((b * time + t) * c + h * hs, hs);
                // out = Σ_u att[u]·v[u]: datt[u] = dO·v[u], dv[u] += att[u]·dO.
                for (int u = 0; u <= t; u++)
                {
                    int vo = (b * time + u) * 3 * c + 2 * c + h * hs;
                    T dot = T.Zero;
                    for (int i = 0; i < hs; i++)
                    {
                        dot += dO[i] * qkv[vo + i];
                        dqkv[vo + i] += row[u] * dO[i];
                    }
                    dAtt[u] = dot;
                }
                // Softmax backward: dpre[u] = att[u]·(datt[u] − Σ_w att[w]·datt[w]).
                T weighted = T.Zero;
                for (int u = 0; u <= t; u++) weighted += row[u] * dAtt[u];
                int qo = (b * time + t) * 3 * c + h * hs;
                for (int u = 0; u <= t; u++)
                {
                    T dPre = row[u] * (dAtt[u] - weighted) * scale;
                    int ko = (b * time + u) * 3 * c + c + h * hs;
                    for (int i = 0; i < hs; i++)
                    {
                        dqkv[qo + i] += dPre * qkv[ko + i];
                        dqkv[ko + i] += dPre * qkv[qo + i];
                    }
                }
            }
        });
        return Qkv.Backward(dqkv);
    }
}
