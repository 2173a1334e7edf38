namespace Ruler.Nn;

/// <summary>Max pooling on NCHW with a square window of <see cref="Size"/> and stride equal to it (2 gives the usual 2×2); trailing rows/columns that do not fill a window are dropped, as in PyTorch. Backward routes dy to the arg max (first one on ties).</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class MaxPool2d<T>(int size = 2) : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private int[]? _argmax;
    private T[]? _y, _dx;
    private int _inputLength;

    /// <summary>Window side and stride.</summary>
    public int Size { get; } = size >= 1 ? size : throw new ArgumentOutOfRangeException(nameof(size), size, "Pool size must be >= 1.");

    /// <summary>y (n, c, h/size, w/size) for x (n, c, h, w).</summary>
    public T[] Forward(T[] x, int n, int c, int h, int w)
    {
        int oh = h / Size, ow = w / Size, planes = n * c;
        if (x.Length != planes * h * w) throw new ArgumentException($"MaxPool2d: x needs {n}×{c}×{h}×{w} elements, got {x.Length}.", nameof(x));
        _inputLength = x.Length;
        var y = Ensure(ref _y, planes * oh * ow);
        if (_argmax is null || _argmax.Length != y.Length) _argmax = new int[y.Length];
        var argmax = _argmax;
        Parallelism.For(n, s =>
        {
            for (int pl = s * c; pl < (s + 1) * c; pl++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        int best = pl * h * w + oy * Size * w + ox * Size;
                        for (int dy = 0; dy < Size; dy++)
                            for (int dx = 0; dx < Size; dx++)
                            {
                                int i = pl * h * w + (oy * Size + dy) * w + ox * Size + dx;
                                if (x[i] > x[best]) best = i;
                            }
                        int o = (pl * oh + oy) * ow + ox;
                        y[o] = x[best];
                        argmax[o] = best;
                    }
        });
        return y;
    }

    /// <summary>dx: dy at each window's arg max, zero elsewhere.</summary>
    public T[] Backward(T[] dy)
    {
        var argmax = _argmax ?? throw new InvalidOperationException("MaxPool2d.Backward before Forward.");
        CheckGradient("MaxPool2d", dy, argmax.Length);
        var dx = Ensure(ref _dx, _inputLength);
        Array.Clear(dx);
        for (int o = 0; o < dy.Length; o++) dx[argmax[o]] += dy[o];
        return dx;
    }
}

/// <summary>Average pooling on NCHW with a square window of <see cref="Size"/> and stride equal to it; trailing rows/columns that do not fill a window are dropped.</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class AvgPool2d<T>(int size = 2) : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[]? _y, _dx;
    private int _n, _c, _h, _w;

    /// <summary>Window side and stride.</summary>
    public int Size { get; } = size >= 1 ? size : throw new ArgumentOutOfRangeException(nameof(size), size, "Pool size must be >= 1.");

    /// <summary>y (n, c, h/size, w/size) for x (n, c, h, w).</summary>
    public T[] Forward(T[] x, int n, int c, int h, int w)
    {
        if (x.Length != n * c * h * w) throw new ArgumentException($"AvgPool2d: x needs {n}×{c}×{h}×{w} elements, got {x.Length}.", nameof(x));
        (_n, _c, _h, _w) = (n, c, h, w);
        int oh = h / Size, ow = w / Size;
        var y = Ensure(ref _y, n * c * oh * ow);
        T inv = Const(1.0 / (Size * Size));
        for (int pl = 0; pl < n * c; pl++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    T sum = T.Zero;
                    for (int dy = 0; dy < Size; dy++)
                        for (int dx = 0; dx < Size; dx++) sum += x[pl * h * w + (oy * Size + dy) * w + ox * Size + dx];
                    y[(pl * oh + oy) * ow + ox] = sum * inv;
                }
        return y;
    }

    /// <summary>dx: each window's dy spread evenly over it.</summary>
    public T[] Backward(T[] dy)
    {
        var y = _y ?? throw new InvalidOperationException("AvgPool2d.Backward before Forward.");
        CheckGradient("AvgPool2d", dy, y.Length);
        int oh = _h / Size, ow = _w / Size;
        var dx = Ensure(ref _dx, _n * _c * _h * _w);
        Array.Clear(dx);
        T inv = Const(1.0 / (Size * Size));
        for (int pl = 0; pl < _n * _c; pl++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    T g = dy[(pl * oh + oy) * ow + ox] * inv;
                    for (int a = 0; a < Size; a++)
                        for (int b = 0; b < Size; b++) dx[pl * _h * _w + (oy * Size + a) * _w + ox * Size + b] = g;
                }
        return dx;
    }
}

/// <summary>Global average pooling: (n, c, h, w) → (n, c), the mean of each plane.</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class GlobalAvgPool<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[]? _y, _dx;
    private int _planeSize;

    /// <summary>y[n, c] = mean over the plane.</summary>
    public T[] Forward(T[] x, int n, int c, int h, int w)
    {
        if (x.Length != n * c * h * w) throw new ArgumentException($"GlobalAvgPool: x needs {n}×{c}×{h}×{w} elements, got {x.Length}.", nameof(x));
        _planeSize = h * w;
        var y = Ensure(ref _y, n * c);
        T inv = Const(1.0 / _planeSize);
        for (int pl = 0; pl < n * c; pl++)
        {
            T sum = T.Zero;
            foreach (T v in x.AsSpan(pl * _planeSize, _planeSize)) sum += v;
            y[pl] = sum * inv;
        }
        return y;
    }

    /// <summary>dx = dy[n, c]/(h·w) at every position of the plane.</summary>
    public T[] Backward(T[] dy)
    {
        var y = _y ?? throw new InvalidOperationException("GlobalAvgPool.Backward before Forward.");
        CheckGradient("GlobalAvgPool", dy, y.Length);
        var dx = Ensure(ref _dx, dy.Length * _planeSize);
        T inv = Const(1.0 / _planeSize);
        for (int pl = 0; pl < dy.Length; pl++) dx.AsSpan(pl * _planeSize, _planeSize).Fill(dy[pl] * inv);
        return dx;
    }
}
