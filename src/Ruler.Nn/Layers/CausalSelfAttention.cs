namespace Ruler.Nn;

/// <summary>
/// Causal multi-head self-attention (GPT-2's): qkv = x·W_qkvᵀ + b (one Linear, dim → 3·dim, laid out [q | k | v]),
/// per head S = q·kᵀ/√hs, P = softmax of each row over positions u ≤ t (exactly 0 for u &gt; t), out = P·v, then
/// proj (dim → dim) and dropout. Per (batch, head) the heads are gathered into contiguous (time × hs) blocks and
/// the products run as small GEMMs; forward keeps P (batch, heads, time, time) and the gathered q, k, v for
/// backward. Work is split over (batch, head) pairs, each writing only its own slices, so results do not depend
/// on the thread count. With <c>uniformAttention</c> the query and key weights and biases start at zero
/// (W_Q = W_K = 0), so at initialization every position attends uniformly to its prefix (Xiong et al. 2020).
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class CausalSelfAttention<T> : Sublayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private T[]? _att, _q, _k, _v, _o, _out, _dO, _dP, _dq, _dk, _dv, _dqkv;
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
        UseDropout(dropout, dropoutSeed);
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

    /// <summary>The attention weights P of the last forward, (batch, heads, time, time), zero above the diagonal.</summary>
    public ReadOnlySpan<T> Attention => _att;

    /// <inheritdoc />
    public override T[] Forward(T[] x, int batch, int time)
    {
        (_batch, _time) = (batch, time);
        int c = Dim, hs = c / Heads, block = time * hs;
        var qkv = Qkv.Forward(x, batch * time);
        var att = Ensure(ref _att, batch * Heads * time * time);
        T[] q = Ensure(ref _q, batch * time * c), k = Ensure(ref _k, q.Length), v = Ensure(ref _v, q.Length), o = Ensure(ref _o, q.Length);
        var output = Ensure(ref _out, q.Length);
        T scale = Const(1 / Math.Sqrt(hs));
        Parallelism.For(batch * Heads, bh =>
        {
            int b = bh / Heads, h = bh % Heads;
            Gather(qkv, 3 * c, h * hs, q, b, bh, time, hs);
            Gather(qkv, 3 * c, c + h * hs, k, b, bh, time, hs);
            Gather(qkv, 3 * c, 2 * c + h * hs, v, b, bh, time, hs);
            var p = att.AsSpan(bh * time * time, time * time);
            MatMul.Multiply<T>(q.AsSpan(bh * block, block), k.AsSpan(bh * block, block), p, time, time, hs, false, true, false, serial: true);
            for (int t = 0; t < time; t++)
            {
                var row = p.Slice(t * time, time);
                VectorOps.Softmax(row[..(t + 1)], scale);
                row[(t + 1)..].Clear();
            }
            MatMul.Multiply<T>(p, v.AsSpan(bh * block, block), o.AsSpan(bh * block, block), time, hs, time, false, false, false, serial: true);
            Scatter(o, output, c, h * hs, b, bh, time, hs);
        });
        var y = Proj.Forward(output, batch * time);
        return DropoutForward(y);
    }

    /// <inheritdoc />
    public override T[] Backward(T[] dy)
    {
        var att = _att ?? throw new InvalidOperationException("CausalSelfAttention.Backward before Forward.");
        dy = DropoutBackward(dy);
        var dOut = Proj.Backward(dy);
        int batch = _batch, time = _time, c = Dim, hs = c / Heads, block = time * hs;
        T[] q = _q!, k = _k!, v = _v!;
        T[] dO = Ensure(ref _dO, q.Length), dq = Ensure(ref _dq, q.Length), dk = Ensure(ref _dk, q.Length), dv = Ensure(ref _dv, q.Length);
        var dP = Ensure(ref _dP, att.Length);
        var dqkv = Ensure(ref _dqkv, 3 * q.Length);
        T scale = Const(1 / Math.Sqrt(hs));
        Parallelism.For(batch * Heads, bh =>
        {
            int b = bh / Heads, h = bh % Heads;
            Gather(dOut, c, h * hs, dO, b, bh, time, hs);
            var p = att.AsSpan(bh * time * time, time * time);
            var dp = dP.AsSpan(bh * time * time, time * time);
            var dOb = dO.AsSpan(bh * block, block);
            // out = P·v: dP = dO·vᵀ, dv = Pᵀ·dO.
            MatMul.Multiply<T>(dOb, v.AsSpan(bh * block, block), dp, time, time, hs, false, true, false, serial: true);
            MatMul.Multiply<T>(p, dOb, dv.AsSpan(bh * block, block), time, hs, time, true, false, false, serial: true);
            // Softmax backward, scale folded in: dS[t,u] = P[t,u]·(dP[t,u] − Σ_w P[t,w]·dP[t,w])/√hs (0 where P is 0).
            for (int t = 0; t < time; t++)
            {
                var dr = dp.Slice(t * time, time);
                VectorOps.SoftmaxBackward<T>(p.Slice(t * time, t + 1), dr[..(t + 1)], scale);
                dr[(t + 1)..].Clear();
            }
            // S = q·kᵀ: dq = dS·k, dk = dSᵀ·q.
            MatMul.Multiply<T>(dp, k.AsSpan(bh * block, block), dq.AsSpan(bh * block, block), time, hs, time, false, false, false, serial: true);
            MatMul.Multiply<T>(dp, q.AsSpan(bh * block, block), dk.AsSpan(bh * block, block), time, hs, time, true, false, false, serial: true);
            Scatter(dq, dqkv, 3 * c, h * hs, b, bh, time, hs);
            Scatter(dk, dqkv, 3 * c, c + h * hs, b, bh, time, hs);
            Scatter(dv, dqkv, 3 * c, 2 * c + h * hs, b, bh, time, hs);
        });
        return Qkv.Backward(dqkv);
    }

    /// <summary>Copies head columns [offset, offset + hs) of each row of sequence b (rows of width <paramref name="width"/>) into block bh, (time × hs).</summary>
    private static void Gather(T[] src, int width, int offset, T[] dst, int b, int bh, int time, int hs)
    {
        for (int t = 0; t < time; t++)
            src.AsSpan((b * time + t) * width + offset, hs).CopyTo(dst.AsSpan((bh * time + t) * hs, hs));
    }

    /// <summary>The inverse of <see cref="Gather"/>.</summary>
    private static void Scatter(T[] src, T[] dst, int width, int offset, int b, int bh, int time, int hs)
    {
        for (int t = 0; t < time; t++)
            src.AsSpan((bh * time + t) * hs, hs).CopyTo(dst.AsSpan((b * time + t) * width + offset, hs));
    }
}
