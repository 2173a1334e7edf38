namespace Ruler.Nn;

/// <summary>
/// 2-D convolution on NCHW input (PyTorch's Conv2d: weight outC×inC×k×k, square kernel, zero padding, stride).
/// im2col + one GEMM over the whole batch: the column matrix has one row per output position (n, oy, ox) and one
/// column per (c, ky, kx), so rows·Wᵀ gives every output channel at once. Backward: dW += dYᵀ·col, dcol = dY·W,
/// then col2im adds dcol back onto the input positions. Init: U(−1/√fan_in, 1/√fan_in), fan_in = inC·k².
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Conv2d<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private T[]? _col, _rows, _y, _dRows, _dCol, _dx;
    private int _n, _h, _w, _oh, _ow;

    /// <summary>Creates a convolution named "name" (parameters "name.weight", "name.bias").</summary>
    public Conv2d(string name, int inChannels, int outChannels, int kernelSize, Rng rng, int stride = 1, int padding = 0, bool bias = true)
    {
        if (inChannels < 1 || outChannels < 1 || kernelSize < 1 || stride < 1 || padding < 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), $"Conv2d {name}: need channels, kernel, stride >= 1 and padding >= 0.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        int fanIn = inChannels * kernelSize * kernelSize;
        Weight = new Parameter<T>(name + ".weight", new T[outChannels * fanIn]);
        Init.PyTorchDefault<T>(Weight.Value, fanIn, rng);
        if (bias)
        {
            Bias = new Parameter<T>(name + ".bias", new T[outChannels]) { NoWeightDecay = true };
            Init.PyTorchDefault<T>(Bias.Value, fanIn, rng);
            _parameters = [Weight, Bias];
        }
        else _parameters = [Weight];
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel height and width.</summary>
    public int KernelSize { get; }

    /// <summary>Step between output positions.</summary>
    public int Stride { get; }

    /// <summary>Zero padding on each border.</summary>
    public int Padding { get; }

    /// <summary>outC×inC×k×k.</summary>
    public Parameter<T> Weight { get; }

    /// <summary>Per output channel, or null.</summary>
    public Parameter<T>? Bias { get; }

    /// <inheritdoc />
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>Output height for an input height (width alike): ⌊(h + 2p − k)/s⌋ + 1.</summary>
    public int OutputSize(int size) => (size + 2 * Padding - KernelSize) / Stride + 1;

    /// <summary>y (n, outC, oh, ow) for x (n, inC, h, w).</summary>
    public T[] Forward(T[] x, int n, int h, int w)
    {
        if (x.Length != n * InChannels * h * w) throw new ArgumentException($"Conv2d {Weight.Name}: x needs {n}×{InChannels}×{h}×{w} elements, got {x.Length}.", nameof(x));
        int oh = OutputSize(h), ow = OutputSize(w);
        if (oh < 1 || ow < 1) throw new ArgumentException($"Conv2d {Weight.Name}: input {h}×{w} is smaller than the kernel {KernelSize} with padding {Padding}.", nameof(x));
        (_n, _h, _w, _oh, _ow) = (n, h, w, oh, ow);
        int positions = oh * ow, ckk = InChannels * KernelSize * KernelSize;
        var col = Ensure(ref _col, n * positions * ckk);
        Parallelism.For(n, s => Im2Col(x, col, s));
        var rows = Ensure(ref _rows, n * positions * OutChannels);
        MatMul.Multiply<T>(col, Weight.Value, rows, n * positions, OutChannels, ckk, transB: true);
        // rows is (n, position, outC); NCHW wants (n, outC, position).
        var y = Ensure(ref _y, rows.Length);
        var bias = Bias?.Value;
        Parallelism.For(n, s =>
        {
            for (int p = 0; p < positions; p++)
                for (int c = 0; c < OutChannels; c++)
                {
                    T v = rows[(s * positions + p) * OutChannels + c];
                    y[(s * OutChannels + c) * positions + p] = bias is null ? v : v + bias[c];
                }
        });
        return y;
    }

    /// <summary>dx (n, inC, h, w) from dy (n, outC, oh, ow); accumulates dW and db.</summary>
    public T[] Backward(T[] dy)
    {
        var col = _col ?? throw new InvalidOperationException("Conv2d.Backward before Forward.");
        int n = _n, positions = _oh * _ow, ckk = InChannels * KernelSize * KernelSize;
        if (dy.Length != n * OutChannels * positions) throw new ArgumentException($"Conv2d {Weight.Name}: dy needs {n}×{OutChannels}×{_oh}×{_ow} elements, got {dy.Length}.", nameof(dy));
        var dRows = Ensure(ref _dRows, dy.Length);
        Parallelism.For(n, s =>
        {
            for (int c = 0; c < OutChannels; c++)
                for (int p = 0; p < positions; p++)
                    dRows[(s * positions + p) * OutChannels + c] = dy[(s * OutChannels + c) * positions + p];
        });
        if (Bias is not null)
        {
            var db = Bias.Grad;
            for (int s = 0; s < n; s++)
                for (int c = 0; c < OutChannels; c++)
                {
                    T sum = T.Zero;
                    var plane = dy.AsSpan((s * OutChannels + c) * positions, positions);
                    foreach (T v in plane) sum += v;
                    db[c] += sum;
                }
        }
        MatMul.Multiply<T>(dRows, col, Weight.Grad, OutChannels, ckk, n * positions, transA: true, accumulate: true);
        var dCol = Ensure(ref _dCol, col.Length);
        MatMul.Multiply<T>(dRows, Weight.Value, dCol, n * positions, ckk, OutChannels);
        var dx = Ensure(ref _dx, n * InChannels * _h * _w);
        Parallelism.For(n, s => Col2Im(dCol, dx, s));
        return dx;
    }

    private void Im2Col(T[] x, T[] col, int s)
    {
        int k = KernelSize, ckk = InChannels * k * k;
        for (int oy = 0; oy < _oh; oy++)
            for (int ox = 0; ox < _ow; ox++)
            {
                var row = col.AsSpan(((s * _oh + oy) * _ow + ox) * ckk, ckk);
                int j = 0;
                for (int c = 0; c < InChannels; c++)
                {
                    int plane = (s * InChannels + c) * _h * _w;
                    for (int ky = 0; ky < k; ky++)
                    {
                        int iy = oy * Stride - Padding + ky;
                        for (int kx = 0; kx < k; kx++, j++)
                        {
                            int ix = ox * Stride - Padding + kx;
                            row[j] = (uint)iy < (uint)_h && (uint)ix < (uint)_w ? x[plane + iy * _w + ix] : T.Zero;
                        }
                    }
                }
            }
    }

    private void Col2Im(T[] dCol, T[] dx, int s)
    {
        int k = KernelSize, ckk = InChannels * k * k;
        dx.AsSpan(s * InChannels * _h * _w, InChannels * _h * _w).Clear();
        for (int oy = 0; oy < _oh; oy++)
            for (int ox = 0; ox < _ow; ox++)
            {
                var row = dCol.AsSpan(((s * _oh + oy) * _ow + ox) * ckk, ckk);
                int j = 0;
                for (int c = 0; c < InChannels; c++)
                {
                    int plane = (s * InChannels + c) * _h * _w;
                    for (int ky = 0; ky < k; ky++)
                    {
                        int iy = oy * Stride - Padding + ky;
                        for (int kx = 0; kx < k; kx++, j++)
                        {
                            int ix = ox * Stride - Padding + kx;
                            if ((uint)iy < (uint)_h && (uint)ix < (uint)_w) dx[plane + iy * _w + ix] += row[j];
                        }
                    }
                }
            }
    }
}
