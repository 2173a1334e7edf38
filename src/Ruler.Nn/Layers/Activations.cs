using System.Runtime.Intrinsics;

namespace Ruler.Nn;

/// <summary>An elementwise nonlinearity y = f(x) with dx = f′(x)·dy; keeps what its derivative needs.</summary>
/// <typeparam name="T">Element type.</typeparam>
public abstract class Activation<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected T[]? _x, _y, _dx;

    /// <summary>y = f(x).</summary>
    public abstract T[] Forward(T[] x);

    /// <summary>dx = f′(x)·dy for the x of the last forward.</summary>
    public abstract T[] Backward(T[] dy);

    private protected T[] Saved => _x ?? throw new InvalidOperationException($"{GetType().Name}.Backward before Forward.");

    /// <summary>Creates the activation of a kind.</summary>
    public static Activation<T> Create(ActivationKind kind) => kind switch
    {
        ActivationKind.Relu => new Relu<T>(),
        ActivationKind.Gelu => new Gelu<T>(),
        ActivationKind.Tanh => new Tanh<T>(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation."),
    };
}

/// <summary>The nonlinearities the engine offers.</summary>
public enum ActivationKind
{
    /// <summary>max(0, x).</summary>
    Relu,
    /// <summary>GELU, tanh approximation (GPT-2's).</summary>
    Gelu,
    /// <summary>tanh(x).</summary>
    Tanh,
}

/// <summary>ReLU: max(0, x); the derivative at 0 is taken as 0 (as PyTorch does).</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Relu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc />
    public override T[] Forward(T[] x)
    {
        _x = x;
        var y = Ensure(ref _y, x.Length);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
                Vector.Max(new Vector<T>(x.AsSpan(i)), Vector<T>.Zero).CopyTo(y.AsSpan(i));
        for (; i < x.Length; i++) y[i] = x[i] > T.Zero ? x[i] : T.Zero;
        return y;
    }

    /// <inheritdoc />
    public override T[] Backward(T[] dy)
    {
        var x = Saved;
        var dx = Ensure(ref _dx, x.Length);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var positive = Vector.GreaterThan(new Vector<T>(x.AsSpan(i)), Vector<T>.Zero);
                Vector.ConditionalSelect(positive, new Vector<T>(dy.AsSpan(i)), Vector<T>.Zero).CopyTo(dx.AsSpan(i));
            }
        for (; i < x.Length; i++) dx[i] = x[i] > T.Zero ? dy[i] : T.Zero;
        return dx;
    }
}

/// <summary>tanh(x); backward uses the saved output: dx = (1 − y²)·dy.</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Tanh<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc />
    public override T[] Forward(T[] x)
    {
        _x = x;
        var y = Ensure(ref _y, x.Length);
        for (int i = 0; i < x.Length; i++) y[i] = T.Tanh(x[i]);
        return y;
    }

    /// <inheritdoc />
    public override T[] Backward(T[] dy)
    {
        var x = Saved;
        var y = _y!;
        var dx = Ensure(ref _dx, x.Length);
        for (int i = 0; i < x.Length; i++) dx[i] = (T.One - y[i] * y[i]) * dy[i];
        return dx;
    }
}

/// <summary>
/// GELU with GPT-2's tanh approximation: y = 0.5·x·(1 + tanh u), u = √(2/π)·(x + 0.044715·x³).
/// Forward saves tanh u so backward needs no second tanh.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Gelu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly T Half = Const(0.5), Scale = Const(Math.Sqrt(2 / Math.PI)), Cubic = Const(0.044715), Cubic3 = Const(3 * 0.044715);
    private T[]? _tanh;

    /// <inheritdoc />
    public override T[] Forward(T[] x)
    {
        _x = x;
        var y = Ensure(ref _y, x.Length);
        var th = Ensure(ref _tanh, x.Length);
        int i = 0;
        if (typeof(T) == typeof(float)) i = ForwardF32(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y.AsSpan()), MemoryMarshal.Cast<T, float>(th.AsSpan()));
        for (; i < x.Length; i++)
        {
            T v = x[i];
            T t = T.Tanh(Scale * (v + Cubic * v * v * v));
            th[i] = t;
            y[i] = Half * v * (T.One + t);
        }
        return y;
    }

    /// <summary>The float body in 8 lanes, tanh u = 1 − 2/(exp(2u) + 1) (±1 in the limits, no NaN); returns how many it did.</summary>
    private static int ForwardF32(ReadOnlySpan<float> x, Span<float> y, Span<float> th)
    {
        int i = 0;
        if (!Vector256.IsHardwareAccelerated) return 0;
        var half = Vector256.Create(0.5f);
        var one = Vector256<float>.One;
        var two = Vector256.Create(2f);
        var scale2 = Vector256.Create(2 * (float)Math.Sqrt(2 / Math.PI));
        var cubic = Vector256.Create(0.044715f);
        for (; i <= x.Length - 8; i += 8)
        {
            var v = Vector256.Create(x.Slice(i, 8));
            var e = VectorExp.Exp(scale2 * (v + cubic * v * v * v));
            var t = one - two / (e + one);
            t.CopyTo(th.Slice(i, 8));
            (half * v * (one + t)).CopyTo(y.Slice(i, 8));
        }
        return i;
    }

    /// <inheritdoc />
    public override T[] Backward(T[] dy)
    {
        var x = Saved;
        var th = _tanh!;
        var dx = Ensure(ref _dx, x.Length);
        for (int i = 0; i < x.Length; i++)
        {
            // dy/dx = 0.5·(1 + tanh u) + 0.5·x·(1 − tanh²u)·√(2/π)·(1 + 3·0.044715·x²).
            T v = x[i], t = th[i];
            dx[i] = (Half * (T.One + t) + Half * v * (T.One - t * t) * Scale * (T.One + Cubic3 * v * v)) * dy[i];
        }
        return dx;
    }
}
