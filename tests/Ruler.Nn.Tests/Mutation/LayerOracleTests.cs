namespace Ruler.Nn.Tests.Mutation;

/// <summary>
/// Layers against direct float64 references written here (loops over the definition, no im2col, no GEMM), forward
/// and backward, on one layer object fed a sequence of shapes so that its reused buffers are exercised (two shapes of
/// the same buffer length in a row, then a different one), and with a second backward after the first to check
/// that parameter gradients accumulate and that nothing else does. The finite-difference checks of
/// <see cref="LayerGradientTests"/> cannot see a forward that is wrong in a self-consistent way (an output size or
/// an index computed wrongly on both sides); these can. Tolerance: 1e-12·(1 + |expected|), far above float64
/// summation-order differences on sums of a few hundred O(1) terms.
/// </summary>
public class LayerOracleTests
{
    private const double Tol = 1e-12;

    public static TheoryData<int, int, int> ConvSettings => new()
    {
        { 3, 1, 1 }, // the usual "same" convolution
        { 3, 2, 1 }, // stride 2
        { 5, 1, 2 }, // a kernel wider than some inputs: whole rows and columns of taps in the padding
        { 2, 1, 0 }, // the last tap lands exactly on the last column
        { 3, 3, 2 }, // stride larger than the padding
        { 1, 2, 0 }, // strided 1×1
    };

    [Theory]
    [MemberData(nameof(ConvSettings))]
    public void Conv2dMatchesTheDefinitionOverASequenceOfShapes(int k, int stride, int pad)
    {
        var rng = new Rng(40);
        const int ci = 2, co = 3;
        var conv = new Conv2d<double>("c", ci, co, k, rng, stride, pad);
        (int N, int H, int W)[] shapes = [(2, 4, 6), (2, 6, 4), (1, 2, 2), (1, 2, 5), (3, 3, 1), (1, 7, 3), (2, 5, 4)];
        foreach (var (n, h, w) in shapes)
        {
            int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
            if (h + 2 * pad < k || w + 2 * pad < k) continue;
            Assert.Equal((oh, ow), (conv.OutputSize(h), conv.OutputSize(w)));
            var x = GradCheck.Gaussian(rng, n * ci * h * w);
            var wt = conv.Weight.Value;
            var b = conv.Bias!.Value;
            // Direct definition: y[s, o, i, j] = b[o] + Σ w[o, c, ky, kx]·x[s, c, i·stride − pad + ky, j·stride − pad + kx].
            var y = new double[n * co * oh * ow];
            var g = GradCheck.Gaussian(rng, y.Length);
            var dx = new double[x.Length];
            var dw = new double[wt.Length];
            var db = new double[co];
            for (int s = 0; s < n; s++)
                for (int o = 0; o < co; o++)
                    for (int i = 0; i < oh; i++)
                        for (int j = 0; j < ow; j++)
                        {
                            int yi = ((s * co + o) * oh + i) * ow + j;
                            double sum = b[o];
                            db[o] += g[yi];
                            for (int c = 0; c < ci; c++)
                                for (int ky = 0; ky < k; ky++)
                                    for (int kx = 0; kx < k; kx++)
                                    {
                                        int iy = i * stride - pad + ky, ix = j * stride - pad + kx;
                                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                        int wi = ((o * ci + c) * k + ky) * k + kx, xi = ((s * ci + c) * h + iy) * w + ix;
                                        sum += wt[wi] * x[xi];
                                        dx[xi] += wt[wi] * g[yi];
                                        dw[wi] += x[xi] * g[yi];
                                    }
                            y[yi] = sum;
                        }
            string at = $"k{k} s{stride} p{pad}, input {n}×{ci}×{h}×{w}";
            Near(y, conv.Forward(x, n, h, w), at + ": y");
            conv.ZeroGrad();
            Near(dx, conv.Backward(g), at + ": dx");
            Near(dw, conv.Weight.Grad, at + ": dW");
            Near(db, conv.Bias.Grad, at + ": db");
            // A second backward: the same dx, parameter gradients twice over.
            Near(dx, conv.Backward(g), at + ": dx again");
            Near([.. dw.Select(v => 2 * v)], conv.Weight.Grad, at + ": dW accumulated");
            Near([.. db.Select(v => 2 * v)], conv.Bias.Grad, at + ": db accumulated");
        }
    }

    /// <summary>Linear: y = x·Wᵀ + b, and a second backward doubles dW and db.</summary>
    [Fact]
    public void LinearAccumulatesParameterGradients()
    {
        var rng = new Rng(41);
        var fc = new Linear<double>("fc", 3, 2, rng);
        var x = GradCheck.Gaussian(rng, 4 * 3);
        var g = GradCheck.Gaussian(rng, 4 * 2);
        var y = fc.Forward(x, 4);
        var dw = new double[6];
        var db = new double[2];
        for (int r = 0; r < 4; r++)
            for (int o = 0; o < 2; o++)
            {
                double sum = fc.Bias!.Value[o];
                for (int i = 0; i < 3; i++)
                {
                    sum += fc.Weight.Value[o * 3 + i] * x[r * 3 + i];
                    dw[o * 3 + i] += g[r * 2 + o] * x[r * 3 + i];
                }
                Assert.Equal(sum, y[r * 2 + o], 12);
                db[o] += g[r * 2 + o];
            }
        fc.Backward(g);
        fc.Backward(g);
        Near([.. dw.Select(v => 2 * v)], fc.Weight.Grad, "dW");
        Near([.. db.Select(v => 2 * v)], fc.Bias!.Grad, "db");
    }

    /// <summary>
    /// Max pooling: each window's maximum, and backward routes dy to the window's first maximum in row-major order
    /// (ties are made common by rounding x to halves); size 3 drops a trailing row and column.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void MaxPoolMatchesTheDefinition(int size)
    {
        var rng = new Rng(42);
        var pool = new MaxPool2d<double>(size);
        (int N, int C, int H, int W)[] shapes = [(2, 3, 6, 7), (2, 3, 7, 6), (1, 2, 4, 9), (2, 1, 8, 8)];
        foreach (var (n, c, h, w) in shapes)
        {
            var x = GradCheck.Gaussian(rng, n * c * h * w).Select(v => Math.Round(2 * v) / 2).ToArray();
            var y = new double[n * c * (h / size) * (w / size)];
            var g = GradCheck.Gaussian(rng, y.Length);
            var dx = new double[x.Length];
            foreach (var (yi, window) in Windows(n * c, h, w, size))
            {
                int best = window[0];
                foreach (int xi in window) if (x[xi] > x[best]) best = xi;
                y[yi] = x[best];
                dx[best] += g[yi];
            }
            string at = $"size {size}, input {n}×{c}×{h}×{w}";
            Near(y, pool.Forward(x, n, c, h, w), at + ": y");
            Near(dx, pool.Backward(g), at + ": dx");
            Near(dx, pool.Backward(g), at + ": dx again");
        }
    }

    /// <summary>Average pooling: each window's mean; backward spreads dy/size² over the window and leaves the dropped trailing rows and columns at 0.</summary>
    [Fact]
    public void AvgPoolMatchesTheDefinition()
    {
        var rng = new Rng(43);
        var pool = new AvgPool2d<double>(2);
        (int N, int C, int H, int W)[] shapes = [(1, 2, 4, 5), (1, 2, 5, 4), (2, 1, 3, 3), (1, 1, 6, 6)];
        foreach (var (n, c, h, w) in shapes)
        {
            var x = GradCheck.Gaussian(rng, n * c * h * w);
            var y = new double[n * c * (h / 2) * (w / 2)];
            var g = GradCheck.Gaussian(rng, y.Length);
            var dx = new double[x.Length];
            foreach (var (yi, window) in Windows(n * c, h, w, 2))
                foreach (int xi in window)
                {
                    y[yi] += x[xi] / 4;
                    dx[xi] = g[yi] / 4;
                }
            string at = $"input {n}×{c}×{h}×{w}";
            Near(y, pool.Forward(x, n, c, h, w), at + ": y");
            Near(dx, pool.Backward(g), at + ": dx");
        }
    }

    /// <summary>The windows of a pooling whose stride is its size: each output's index and its window's input indices, row-major (trailing rows and columns that do not fill a window belong to none).</summary>
    private static IEnumerable<(int Y, int[] X)> Windows(int planes, int h, int w, int size)
    {
        int oh = h / size, ow = w / size;
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    var window = new int[size * size];
                    for (int a = 0; a < size; a++)
                        for (int b = 0; b < size; b++) window[a * size + b] = (pl * h + i * size + a) * w + j * size + b;
                    yield return ((pl * oh + i) * ow + j, window);
                }
    }

    /// <summary>CenterOnly: each group of <c>features</c> minus its mean, forward and backward (the map is its own adjoint).</summary>
    [Fact]
    public void CenterOnlySubtractsEachGroupsMean()
    {
        var rng = new Rng(44);
        var center = new CenterOnly<double>(5);
        foreach (int groups in new[] { 3, 3, 1 })
        {
            var x = GradCheck.Gaussian(rng, groups * 5, 4);
            var expected = new double[x.Length];
            for (int gi = 0; gi < groups; gi++)
            {
                double mean = x.Skip(gi * 5).Take(5).Average();
                for (int i = 0; i < 5; i++) expected[gi * 5 + i] = x[gi * 5 + i] - mean;
            }
            Near(expected, center.Forward(x), "y");
            Near(expected, center.Backward(x), "dx");
        }
    }

    /// <summary>
    /// Causal self-attention against the definition (float64): qkv = x·Wᵀ + b, per head S = q·kᵀ/√hs over u ≤ t,
    /// P = softmax, out = P·v, y = out·W_projᵀ + b_proj; the attention weights it exposes are P. A second backward
    /// gives the same dx and doubles the parameter gradients.
    /// </summary>
    [Fact]
    public void AttentionMatchesTheDefinition()
    {
        var rng = new Rng(45);
        const int batch = 2, time = 5, dim = 6, heads = 2, hs = dim / heads;
        var attn = new CausalSelfAttention<double>("attn", dim, heads, rng);
        var x = GradCheck.Gaussian(rng, batch * time * dim);
        var y = attn.Forward(x, batch, time);

        double[] wq = attn.Qkv.Weight.Value, bq = attn.Qkv.Bias!.Value, wp = attn.Proj.Weight.Value, bp = attn.Proj.Bias!.Value;
        var qkv = new double[batch * time * 3 * dim];
        for (int r = 0; r < batch * time; r++)
            for (int o = 0; o < 3 * dim; o++)
            {
                double s = bq[o];
                for (int i = 0; i < dim; i++) s += wq[o * dim + i] * x[r * dim + i];
                qkv[r * 3 * dim + o] = s;
            }
        var output = new double[batch * time * dim];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int t = 0; t < time; t++)
                {
                    var scores = new double[t + 1];
                    for (int u = 0; u <= t; u++)
                    {
                        double s = 0;
                        for (int e = 0; e < hs; e++) s += qkv[(b * time + t) * 3 * dim + h * hs + e] * qkv[(b * time + u) * 3 * dim + dim + h * hs + e];
                        scores[u] = s / Math.Sqrt(hs);
                    }
                    double max = scores.Max(), z = scores.Sum(s => Math.Exp(s - max));
                    for (int u = 0; u < time; u++)
                    {
                        double p = u <= t ? Math.Exp(scores[u] - max) / z : 0;
                        Assert.True(Math.Abs(p - attn.Attention[((b * heads + h) * time + t) * time + u]) <= Tol, $"P[{b},{h},{t},{u}]");
                        if (u > t) continue;
                        for (int e = 0; e < hs; e++) output[(b * time + t) * dim + h * hs + e] += p * qkv[(b * time + u) * 3 * dim + 2 * dim + h * hs + e];
                    }
                }
        var expected = new double[y.Length];
        for (int r = 0; r < batch * time; r++)
            for (int o = 0; o < dim; o++)
            {
                double s = bp[o];
                for (int i = 0; i < dim; i++) s += wp[o * dim + i] * output[r * dim + i];
                expected[r * dim + o] = s;
            }
        Near(expected, y, "y");

        var g = GradCheck.Gaussian(rng, y.Length);
        attn.ZeroGrad();
        var dx = (double[])attn.Backward(g).Clone();
        var grads = attn.Parameters.Select(p => (double[])p.Grad.Clone()).ToArray();
        Near(dx, attn.Backward(g), "dx again");
        for (int i = 0; i < grads.Length; i++) Near([.. grads[i].Select(v => 2 * v)], attn.Parameters[i].Grad, attn.Parameters[i].Name + " accumulated");
    }

    /// <summary>
    /// Dropout inside attention and the MLP: in training, each output element is the dropout-free layer's (same
    /// weights) times 0 or 1/(1 − p), some of each; backward applies the same mask before the projection's backward
    /// (so the projection's bias gradient is Σ_rows mask·dy); in eval the layer is the dropout-free one.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SublayerDropoutMasksForwardAndBackward(bool attention)
    {
        const int dim = 4, batch = 2, time = 3;
        const double p = 0.5;
        Sublayer<double> Make(double dropout) => attention
            ? new CausalSelfAttention<double>("a", dim, 2, new Rng(47), dropout: dropout, dropoutSeed: 9)
            : new Mlp<double>("m", dim, 8, ActivationKind.Gelu, new Rng(47), dropout: dropout, dropoutSeed: 9);
        Linear<double> ProjOf(Sublayer<double> s) => s is CausalSelfAttention<double> a ? a.Proj : ((Mlp<double>)s).Proj;
        var plain = Make(0);
        var dropped = Make(p);
        var x = GradCheck.Gaussian(new Rng(48), batch * time * dim);
        var y0 = (double[])plain.Forward(x, batch, time).Clone();
        var y = dropped.Forward(x, batch, time);
        var mask = new double[y.Length];
        for (int i = 0; i < y.Length; i++)
        {
            mask[i] = y[i] == 0 ? 0 : 1 / (1 - p);
            Assert.Equal(y0[i] * mask[i], y[i], 12);
        }
        Assert.Contains(0.0, mask);
        Assert.Contains(2.0, mask);

        var g = GradCheck.Gaussian(new Rng(49), y.Length);
        dropped.ZeroGrad();
        dropped.Backward(g);
        var dbExpected = new double[dim];
        for (int i = 0; i < g.Length; i++) dbExpected[i % dim] += g[i] * mask[i];
        Near(dbExpected, ProjOf(dropped).Bias!.Grad, "proj bias gradient");

        dropped.Training = false;
        Near(y0, dropped.Forward(x, batch, time), "eval");
    }

    /// <summary>Every element within 1e-12·(1 + |expected|).</summary>
    internal static void Near(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} elements, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tol * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
    }
}
