namespace Ruler.Nn;

/// <summary>An elementwise nonlinearity y = f(x) with dx = f′(x)·dy; keeps x for backward.</summary>
/// <typeparam name="T">Element type.</typeparam>
public abstract class Activation<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[]? _x, _y, _dx;

    /// <summary>y = f(x).</summary>
    public T[] Forward(T[] x)
    {
        _x = x;
        var y = Ensure(ref _y, x.Length);
        for (int i = 0; i < x.Length; i++) y[i] = F(x[i]);
        return y;
    }

    /// <summary>dx = f′(x)·dy for the x of the last forward.</summary>
    public T[] Backward(T[] dy)
    {
        var x = _x ?? throw new InvalidOperationException($"{GetType().Name}.Backward before Forward.");
        var dx = Ensure(ref _dx, x.Length);
        for (int i = 0; i < x.Length; i++) dx[i] = Derivative(x[i]) * dy[i];
        return dx;
    }

    /// <summary>f(x).</summary>
    protected abstract T F(T x);

    /// <summary>f′(x).</summary>
    protected abstract T Derivative(T x);

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
    protected override T F(T x) => x > T.Zero ? x : T.Zero;

    /// <inheritdoc />
    protected override T Derivative(T x) => x > T.Zero ? T.One : T.Zero;
}

/// <summary>tanh(x), derivative 1 − tanh²(x).</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Tanh<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc />
    protected override T F(T x) => T.Tanh(x);

    /// <inheritdoc />
    protected override T Derivative(T x)
    {
        T t = T.Tanh(x);
        return T.One - t * t;
    }
}

/// <summary>GELU with GPT-2's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Gelu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly T Half = Const(0.5), Scale = Const(Math.Sqrt(2 / Math.PI)), Cubic = Const(0.044715), Cubic3 = Const(3 * 0.044715);

    /// <inheritdoc />
    protected override T F(T x) => Half * x * (T.One + T.Tanh(Scale * (x + Cubic * x * x * x)));

    /// <inheritdoc />
    protected override T Derivative(T x)
    {
        // d/dx of 0.5·x·(1 + tanh u), u = s·(x + c·x³): 0.5·(1 + tanh u) + 0.5·x·(1 − tanh²u)·s·(1 + 3c·x²).
        T t = T.Tanh(Scale * (x + Cubic * x * x * x));
        return Half * (T.One + t) + Half * x * (T.One - t * t) * Scale * (T.One + Cubic3 * x * x);
    }
}
