using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Ruler.Internal;

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

    /// <summary>The x of the last forward, after checking that <paramref name="dy"/> has its length.</summary>
    /// <param name="dy">The gradient handed to Backward.</param>
    /// <param name="name">The activation's name for the messages (a literal: nothing is built per call).</param>
    private protected T[] SavedFor(T[] dy, string name)
    {
        var x = _x ?? throw new InvalidOperationException($"{name}.Backward before Forward.");
        CheckGradient(name, dy, x.Length);
        return x;
    }

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

/// <summary>
/// ReLU: max(0, x); the derivative at 0 is taken as 0 (as PyTorch does). NaN stays NaN in the forward (as in PyTorch)
/// and gets a zero gradient.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Relu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc />
    public override T[] Forward(T[] x)
    {
        _x = x;
        var y = Ensure(ref _y, x.Length);
        TensorPrimitives.Max(x, T.Zero, y);
        return y;
    }

    /// <inheritdoc />
    public override T[] Backward(T[] dy)
    {
        var x = SavedFor(dy, "Relu");
        var dx = Ensure(ref _dx, x.Length);
        int i = 0;
        if (typeof(T) == typeof(float))
        {
            ReadOnlySpan<float> fx = MemoryMarshal.Cast<T, float>(x.AsSpan()), fdy = MemoryMarshal.Cast<T, float>(dy.AsSpan());
            Span<float> fdx = MemoryMarshal.Cast<T, float>(dx.AsSpan());
            if (Vector512.IsHardwareAccelerated) PassWherePositive<Vector512<float>, Vector512<double>, F512>(fx, fdy, fdx, ref i);
            if (Vector256.IsHardwareAccelerated) PassWherePositive<Vector256<float>, Vector256<double>, F256>(fx, fdy, fdx, ref i);
            if (Vector128.IsHardwareAccelerated) PassWherePositive<Vector128<float>, Vector128<double>, F128>(fx, fdy, fdx, ref i);
        }
        for (; i < x.Length; i++) dx[i] = x[i] > T.Zero ? dy[i] : T.Zero;
        return dx;
    }

    /// <summary>dx = dy where x &gt; 0, else 0, over the whole vectors of width S left from i; moves i past them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PassWherePositive<TV, TD, S>(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, ref int i)
        where TV : struct where TD : struct where S : IFloatSimd<TV, TD>
    {
        var zero = S.Splat(0f);
        fixed (float* px = x, pdy = dy, pdx = dx)
            for (; i <= x.Length - S.Count; i += S.Count) S.Store(pdx + i, S.ValueWhereAbove(S.Load(pdy + i), S.Load(px + i), zero));
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
        TensorPrimitives.Tanh(x, y);
        return y;
    }

    /// <inheritdoc />
    public override T[] Backward(T[] dy)
    {
        var x = SavedFor(dy, "Tanh");
        var y = _y!;
        var dx = Ensure(ref _dx, x.Length);
        // dx = dy − y²·dy, three vector passes.
        TensorPrimitives.Multiply(y, y, dx);
        TensorPrimitives.Multiply(dx, dy, dx);
        TensorPrimitives.Subtract(dy, dx, dx);
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

    /// <summary>The float body over the widest accelerated lanes, tanh u = 1 − 2/(exp(2u) + 1) (±1 in the limits, no NaN); returns how many it did.</summary>
    private static int ForwardF32(ReadOnlySpan<float> x, Span<float> y, Span<float> th)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated) ForwardF32<Vector512<float>, Vector512<double>, F512>(x, y, th, ref i);
        if (Vector256.IsHardwareAccelerated) ForwardF32<Vector256<float>, Vector256<double>, F256>(x, y, th, ref i);
        if (Vector128.IsHardwareAccelerated) ForwardF32<Vector128<float>, Vector128<double>, F128>(x, y, th, ref i);
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ForwardF32<TV, TD, S>(ReadOnlySpan<float> x, Span<float> y, Span<float> th, ref int i)
        where TV : struct where TD : struct where S : IFloatSimd<TV, TD>
    {
        TV half = S.Splat(0.5f), one = S.Splat(1f), two = S.Splat(2f), cubic = S.Splat(0.044715f);
        TV scale2 = S.Splat(2 * (float)Math.Sqrt(2 / Math.PI));
        fixed (float* px = x, py = y, pt = th)
            for (; i <= x.Length - S.Count; i += S.Count)
            {
                TV v = S.Load(px + i);
                TV e = VectorExp.Exp<TV, TD, S>(S.Mul(scale2, S.Add(v, S.Mul(S.Mul(S.Mul(cubic, v), v), v))));
                TV t = S.Sub(one, S.Div(two, S.Add(e, one)));
                S.Store(pt + i, t);
                S.Store(py + i, S.Mul(S.Mul(half, v), S.Add(one, t)));
            }
    }

    /// <inheritdoc />
    public override T[] Backward(T[] dy)
    {
        var x = SavedFor(dy, "Gelu");
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
