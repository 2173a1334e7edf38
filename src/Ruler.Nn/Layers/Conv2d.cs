namespace Ruler.Nn;

/// <summary>
/// 2-D convolution on NCHW input (PyTorch's Conv2d: weight outC×inC×k×k, square kernel, zero padding, stride).
/// im2col + one GEMM over the whole batch: the column matrix has one row per (c, ky, kx) and one column per output
/// position (n, oy, ox), so W·col gives every output channel of every image at once, channel-major (a block copy
/// per (n, c) away from NCHW). Backward: dW += dY·colᵀ, dcol = Wᵀ·dY, then col2im adds dcol back onto the input. Init: U(−1/√fan_in, 1/√fan_in), fan_in = inC·k².
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
        int positions = oh * ow, ckk = InChannels * KernelSize * KernelSize, columns = n * positions;
        var col = Ensure(ref _col, ckk * columns);
        Parallelism.For(n, s => Im2Col(x, col, s));
        // Y' (outC × n·positions) = W (outC × ckk) · col (ckk × n·positions); Y'[c, s·P + p] is y[s, c, p].
        var rows = Ensure(ref _rows, OutChannels * columns);
        MatMul.Multiply<T>(Weight.Value, col, rows, OutChannels, columns, ckk);
        var y = Ensure(ref _y, rows.Length);
        var bias = Bias?.Value;
        Parallelism.For(n, s =>
        {
            for (int c = 0; c < OutChannels; c++)
            {
                var dst = y.AsSpan((s * OutChannels + c) * positions, positions);
                rows.AsSpan(c * columns + s * positions, positions).CopyTo(dst);
                if (bias is not null) VectorOps.AddScalar(dst, bias[c]);
            }
        });
        return y;
    }

    /// <summary>dx (n, inC, h, w) from dy (n, outC, oh, ow); accumulates dW and db.</summary>
    public T[] Backward(T[] dy)
    {
        var col = _col ?? throw new InvalidOperationException("Conv2d.Backward before Forward.");
        int n = _n, positions = _oh * _ow, ckk = InChannels * KernelSize * KernelSize, columns = n * positions;
        if (dy.Length != n * OutChannels * positions) throw new ArgumentException($"Conv2d {Weight.Name}: dy needs {n}×{OutChannels}×{_oh}×{_ow} elements, got {dy.Length}.", nameof(dy));
        var dRows = Ensure(ref _dRows, dy.Length);
        Parallelism.For(n, s =>
        {
            for (int c = 0; c < OutChannels; c++)
                dy.AsSpan((s * OutChannels + c) * positions, positions).CopyTo(dRows.AsSpan(c * columns + s * positions, positions));
        });
        if (Bias is not null)
        {
            var db = Bias.Grad;
            for (int c = 0; c < OutChannels; c++)
            {
                T sum = T.Zero;
                foreach (T v in dRows.AsSpan(c * columns, columns)) sum += v;
                db[c] += sum;
            }
        }
        // dW += dY'·colᵀ; dcol = Wᵀ·dY'.
        MatMul.Multiply<T>(dRows, col, Weight.Grad, OutChannels, ckk, columns, transB: true, accumulate: true);
        var dCol = Ensure(ref _dCol, col.Length);
        MatMul.Multiply<T>(Weight.Value, dRows, dCol, ckk, columns, OutChannels, transA: true);
        var dx = Ensure(ref _dx, n * InChannels * _h * _w);
        Parallelism.For(n, s => Col2Im(dCol, dx, s));
        return dx;
    }

    /// <summary>
    /// Fills sample s's columns of col (ckk × n·positions): row j = (c, ky, kx), column s·P + oy·ow + ox holds
    /// x[s, c, oy·stride − pad + ky, ox·stride − pad + kx], or 0 in the padding. Each (j, oy) is one run over ox.
    /// </summary>
    private void Im2Col(T[] x, T[] col, int s)
    {
        int k = KernelSize, columns = _n * _oh * _ow;
        for (int c = 0; c < InChannels; c++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                {
                    int j = (c * k + ky) * k + kx;
                    var (lo, hi) = ValidRange(kx, _w, _ow);
                    for (int oy = 0; oy < _oh; oy++)
                    {
                        var dst = col.AsSpan(j * columns + (s * _oh + oy) * _ow, _ow);
                        int iy = oy * Stride - Padding + ky;
                        if ((uint)iy >= (uint)_h || lo >= hi)
                        {
                            dst.Clear();
                            continue;
                        }
                        dst[..lo].Clear();
                        dst[hi..].Clear();
                        int src = ((s * InChannels + c) * _h + iy) * _w - Padding + kx;
                        if (Stride == 1) x.AsSpan(src + lo, hi - lo).CopyTo(dst[lo..hi]);
                        else for (int ox = lo; ox < hi; ox++) dst[ox] = x[src + ox * Stride];
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: adds sample s's columns of dcol back onto dx[s].</summary>
    private void Col2Im(T[] dCol, T[] dx, int s)
    {
        int k = KernelSize, columns = _n * _oh * _ow;
        dx.AsSpan(s * InChannels * _h * _w, InChannels * _h * _w).Clear();
        for (int c = 0; c < InChannels; c++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                {
                    int j = (c * k + ky) * k + kx;
                    var (lo, hi) = ValidRange(kx, _w, _ow);
                    for (int oy = 0; oy < _oh; oy++)
                    {
                        int iy = oy * Stride - Padding + ky;
                        if ((uint)iy >= (uint)_h || lo >= hi) continue;
                        var src = dCol.AsSpan(j * columns + (s * _oh + oy) * _ow, _ow);
                        int dst = ((s * InChannels + c) * _h + iy) * _w - Padding + kx;
                        if (Stride == 1) VectorOps.Add<T>(dx.AsSpan(dst + lo, hi - lo), src[lo..hi], dx.AsSpan(dst + lo, hi - lo));
                        else for (int ox = lo; ox < hi; ox++) dx[dst + ox * Stride] += src[ox];
                    }
                }
    }

    /// <summary>The output columns [lo, hi) whose input column ox·stride − pad + kx lies inside [0, w).</summary>
    private (int Lo, int Hi) ValidRange(int kx, int w, int ow)
    {
        int offset = kx - Padding;
        int lo = offset >= 0 ? 0 : (-offset + Stride - 1) / Stride;
        int hi = Math.Min(ow, w - 1 - offset < 0 ? 0 : (w - 1 - offset) / Stride + 1);
        return (Math.Min(lo, ow), hi);
    }
}
