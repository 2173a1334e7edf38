using System.Numerics.Tensors;

namespace Ruler.Cli.Bench;

/// <summary>
/// The peer a .NET user writes in an afternoon: normalization with System.Numerics.Tensors' <see cref="TensorPrimitives"/>
/// (Sum, SumOfSquares, Dot, Subtract, Multiply, MultiplyAdd, Add) one row or one channel slice at a time, float32,
/// with per-row/per-group statistics as float32 and per-channel sums accumulated in float64. Threads split the rows
/// (or channels, or samples) into one contiguous range each; per-thread partial dγ/dβ are added at the end.
/// Correctness: <c>BenchTests</c> checks it against Ruler's float64 reference.
/// </summary>
internal sealed class TensorPrimitivesPeer
{
    private readonly float[][] _scratch;
    private readonly float[][] _scratch2;
    private readonly float[][] _partialGamma;
    private readonly float[][] _partialBeta;
    private readonly double[][] _partialSums;
    private readonly int _threads;

    /// <param name="threads">Thread count (one contiguous range of the work each).</param>
    /// <param name="width">The longest row or channel count any call uses (scratch size).</param>
    public TensorPrimitivesPeer(int threads, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _threads = threads;
        _scratch = Enumerable.Range(0, threads).Select(_ => new float[width]).ToArray();
        _scratch2 = Enumerable.Range(0, threads).Select(_ => new float[width]).ToArray();
        _partialGamma = Enumerable.Range(0, threads).Select(_ => new float[width]).ToArray();
        _partialBeta = Enumerable.Range(0, threads).Select(_ => new float[width]).ToArray();
        _partialSums = Enumerable.Range(0, threads).Select(_ => new double[2 * width]).ToArray();
    }

    public int Threads => _threads;

    /// <summary>Runs body(start, end, worker) over one contiguous range of [0, count) per thread.</summary>
    private void Split(int count, Action<int, int, int> body)
    {
        int workers = Math.Min(_threads, count);
        if (workers <= 1)
        {
            body(0, count, 0);
            return;
        }
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
            body((int)((long)count * w / workers), (int)((long)count * (w + 1) / workers), w));
    }

    // ---- rows: LayerNorm, RMSNorm, add + norm over the last axis of (rows, d) ----

    /// <summary>y = (x − mean)·rstd·γ + β per row (β empty: RMSNorm without centering when <paramref name="center"/> is false).</summary>
    public void RowForward(float[] x, int rows, int d, float[] gamma, float[] beta, float[] y, float[] mean, float[] rstd, bool center, float eps) =>
        Split(rows, (start, end, _) =>
        {
            for (int r = start; r < end; r++)
            {
                var xr = x.AsSpan(r * d, d);
                var yr = y.AsSpan(r * d, d);
                float m = 0;
                if (center)
                {
                    m = TensorPrimitives.Sum(xr) / d;
                    TensorPrimitives.Subtract(xr, m, yr);
                }
                else
                {
                    xr.CopyTo(yr);
                }
                float s = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(yr) / d + eps);
                mean[r] = m;
                rstd[r] = s;
                TensorPrimitives.Multiply(yr, s, yr);
                if (beta.Length > 0) TensorPrimitives.MultiplyAdd(yr, gamma, beta, yr);
                else TensorPrimitives.Multiply(yr, gamma, yr);
            }
        });

    /// <summary>h = x + u, then <see cref="RowForward"/> of h.</summary>
    public void AddRowForward(float[] x, float[] u, int rows, int d, float[] gamma, float[] beta, float[] h, float[] y,
        float[] mean, float[] rstd, bool center, float eps)
    {
        Split(rows, (start, end, _) =>
            TensorPrimitives.Add(x.AsSpan(start * d, (end - start) * d), u.AsSpan(start * d, (end - start) * d), h.AsSpan(start * d, (end - start) * d)));
        RowForward(h, rows, d, gamma, beta, y, mean, rstd, center, eps);
    }

    /// <summary>
    /// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ, x̂ = (x − mean)·rstd (no mean(g) term without centering);
    /// dγ = Σ dy·x̂, dβ = Σ dy over the rows (dβ empty: skipped).
    /// </summary>
    public void RowBackward(float[] x, int rows, int d, float[] mean, float[] rstd, float[] gamma, float[] dy, float[] dx,
        float[] dgamma, float[] dbeta, bool center)
    {
        int workers = Math.Min(_threads, rows);
        Split(rows, (start, end, w) =>
        {
            var xhat = _scratch[w].AsSpan(0, d);
            var g = _scratch2[w].AsSpan(0, d);
            var pg = _partialGamma[w].AsSpan(0, d);
            var pb = _partialBeta[w].AsSpan(0, d);
            pg.Clear();
            pb.Clear();
            for (int r = start; r < end; r++)
            {
                var xr = x.AsSpan(r * d, d);
                var dyr = dy.AsSpan(r * d, d);
                var dxr = dx.AsSpan(r * d, d);
                TensorPrimitives.Subtract(xr, mean[r], xhat);
                TensorPrimitives.Multiply(xhat, rstd[r], xhat);
                TensorPrimitives.Multiply(dyr, gamma, g);
                float meanG = center ? TensorPrimitives.Sum(g) / d : 0f;
                float meanGx = TensorPrimitives.Dot(g, xhat) / d;
                TensorPrimitives.MultiplyAdd(xhat, -meanGx, g, dxr);
                if (center) TensorPrimitives.Subtract(dxr, meanG, dxr);
                TensorPrimitives.Multiply(dxr, rstd[r], dxr);
                TensorPrimitives.MultiplyAdd(dyr, xhat, pg, pg);
                if (dbeta.Length > 0) TensorPrimitives.Add(dyr, pb, pb);
            }
        });
        _partialGamma[0].AsSpan(0, d).CopyTo(dgamma);
        for (int w = 1; w < workers; w++) TensorPrimitives.Add(dgamma, _partialGamma[w].AsSpan(0, d), dgamma);
        if (dbeta.Length > 0)
        {
            _partialBeta[0].AsSpan(0, d).CopyTo(dbeta);
            for (int w = 1; w < workers; w++) TensorPrimitives.Add(dbeta, _partialBeta[w].AsSpan(0, d), dbeta);
        }
    }

    // ---- channels-first groups: GroupNorm (G groups of C/G channels) and InstanceNorm (G = C) on (N, C, S) ----

    /// <summary>Each (sample, group) is one contiguous run of (C/G)·S values: moments over it, then γ, β per channel.</summary>
    public void GroupForward(float[] x, int n, int c, int s, int groups, float[] gamma, float[] beta, float[] y, float[] mean, float[] rstd, float eps)
    {
        int perGroup = c / groups, size = perGroup * s;
        Split(n * groups, (start, end, _) =>
        {
            for (int ng = start; ng < end; ng++)
            {
                var xg = x.AsSpan(ng * size, size);
                var yg = y.AsSpan(ng * size, size);
                float m = TensorPrimitives.Sum(xg) / size;
                TensorPrimitives.Subtract(xg, m, yg);
                float r = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(yg) / size + eps);
                mean[ng] = m;
                rstd[ng] = r;
                int c0 = ng % groups * perGroup;
                for (int k = 0; k < perGroup; k++)
                {
                    var ys = yg.Slice(k * s, s);
                    float scale = r * gamma[c0 + k];
                    TensorPrimitives.Multiply(ys, scale, ys);
                    TensorPrimitives.Add(ys, beta[c0 + k], ys);
                }
            }
        });
    }

    /// <summary>Backward of <see cref="GroupForward"/>: per (sample, group) sums from Sum(dy) and Dot(dy, x) per channel slice.</summary>
    public void GroupBackward(float[] x, int n, int c, int s, int groups, float[] mean, float[] rstd, float[] gamma, float[] dy, float[] dx,
        float[] dgamma, float[] dbeta)
    {
        int perGroup = c / groups, size = perGroup * s;
        int workers = Math.Min(_threads, n * groups);
        Split(n * groups, (start, end, w) =>
        {
            var pg = _partialGamma[w].AsSpan(0, c);
            var pb = _partialBeta[w].AsSpan(0, c);
            pg.Clear();
            pb.Clear();
            for (int ng = start; ng < end; ng++)
            {
                int c0 = ng % groups * perGroup;
                float m = mean[ng], r = rstd[ng];
                float sumG = 0, sumGx = 0;
                for (int k = 0; k < perGroup; k++)
                {
                    var xs = x.AsSpan(ng * size + k * s, s);
                    var dys = dy.AsSpan(ng * size + k * s, s);
                    float sd = TensorPrimitives.Sum(dys);
                    float sdx = (TensorPrimitives.Dot(dys, xs) - m * sd) * r;
                    sumG += gamma[c0 + k] * sd;
                    sumGx += gamma[c0 + k] * sdx;
                    pb[c0 + k] += sd;
                    pg[c0 + k] += sdx;
                }
                float meanG = sumG / size, meanGx = sumGx / size;
                for (int k = 0; k < perGroup; k++)
                {
                    // dx = r·(γ·dy − meanG − x̂·meanGx) = a·dy + b·x + e
                    float a = r * gamma[c0 + k], b = -r * r * meanGx, e = r * (r * m * meanGx - meanG);
                    var xs = x.AsSpan(ng * size + k * s, s);
                    var dxs = dx.AsSpan(ng * size + k * s, s);
                    TensorPrimitives.Multiply(dy.AsSpan(ng * size + k * s, s), a, dxs);
                    TensorPrimitives.MultiplyAdd(xs, b, dxs, dxs);
                    TensorPrimitives.Add(dxs, e, dxs);
                }
            }
        });
        Reduce(workers, c, dgamma, dbeta);
    }

    private void Reduce(int workers, int c, float[] dgamma, float[] dbeta)
    {
        _partialGamma[0].AsSpan(0, c).CopyTo(dgamma);
        _partialBeta[0].AsSpan(0, c).CopyTo(dbeta);
        for (int w = 1; w < workers; w++)
        {
            TensorPrimitives.Add(dgamma, _partialGamma[w].AsSpan(0, c), dgamma);
            TensorPrimitives.Add(dbeta, _partialBeta[w].AsSpan(0, c), dbeta);
        }
    }

    // ---- BatchNorm training: statistics per channel over (N, S) ----

    /// <summary>
    /// Channels-first (N, C, S): per channel, Sum and SumOfSquares of each sample's slice (float64 across samples),
    /// var = E[x²] − mean², then y = x·(rstd·γ) + (β − mean·rstd·γ) per slice. Threads split the channels.
    /// </summary>
    public void BatchForwardNchw(float[] x, int n, int c, int s, float[] gamma, float[] beta, float[] y, float[] mean, float[] rstd, float eps) =>
        Split(c, (start, end, _) =>
        {
            long count = (long)n * s;
            for (int ch = start; ch < end; ch++)
            {
                double sum = 0, sq = 0;
                for (int i = 0; i < n; i++)
                {
                    var xs = x.AsSpan((i * c + ch) * s, s);
                    sum += TensorPrimitives.Sum(xs);
                    sq += TensorPrimitives.SumOfSquares(xs);
                }
                double m = sum / count;
                float r = (float)(1 / Math.Sqrt(Math.Max(sq / count - m * m, 0) + eps));
                mean[ch] = (float)m;
                rstd[ch] = r;
                float scale = r * gamma[ch], shift = beta[ch] - (float)m * scale;
                for (int i = 0; i < n; i++)
                {
                    var ys = y.AsSpan((i * c + ch) * s, s);
                    TensorPrimitives.Multiply(x.AsSpan((i * c + ch) * s, s), scale, ys);
                    TensorPrimitives.Add(ys, shift, ys);
                }
            }
        });

    /// <summary>
    /// Channels-last (N·S rows of C): per-thread float64 sums and sums of squares per channel from each row, then
    /// y = x·scale + shift with per-channel vectors. Threads split the rows.
    /// </summary>
    public void BatchForwardNhwc(float[] x, int rows, int c, float[] gamma, float[] beta, float[] y, float[] mean, float[] rstd, float eps)
    {
        int workers = Math.Min(_threads, rows);
        Split(rows, (start, end, w) =>
        {
            var sums = _partialSums[w].AsSpan(0, 2 * c);
            var rowSum = _scratch[w].AsSpan(0, c);
            var rowSq = _scratch2[w].AsSpan(0, c);
            sums.Clear();
            const int Block = 64;   // float32 accumulation over at most 64 rows, then into float64
            for (int r0 = start; r0 < end; r0 += Block)
            {
                rowSum.Clear();
                rowSq.Clear();
                for (int r = r0; r < Math.Min(end, r0 + Block); r++)
                {
                    var xr = x.AsSpan(r * c, c);
                    TensorPrimitives.Add(xr, rowSum, rowSum);
                    TensorPrimitives.MultiplyAdd(xr, xr, rowSq, rowSq);
                }
                for (int k = 0; k < c; k++)
                {
                    sums[k] += rowSum[k];
                    sums[c + k] += rowSq[k];
                }
            }
        });
        var scale = _partialGamma[0].AsSpan(0, c);
        var shift = _partialBeta[0].AsSpan(0, c);
        for (int k = 0; k < c; k++)
        {
            double sum = 0, sq = 0;
            for (int w = 0; w < workers; w++)
            {
                sum += _partialSums[w][k];
                sq += _partialSums[w][c + k];
            }
            double m = sum / rows;
            float r = (float)(1 / Math.Sqrt(Math.Max(sq / rows - m * m, 0) + eps));
            mean[k] = (float)m;
            rstd[k] = r;
            scale[k] = r * gamma[k];
            shift[k] = beta[k] - (float)m * scale[k];
        }
        var sc = _partialGamma[0];
        var sh = _partialBeta[0];
        Split(rows, (start, end, _) =>
        {
            for (int r = start; r < end; r++)
                TensorPrimitives.MultiplyAdd(x.AsSpan(r * c, c), sc.AsSpan(0, c), sh.AsSpan(0, c), y.AsSpan(r * c, c));
        });
    }

    /// <summary>BatchNorm training backward, channels-first: per channel Σdy and Σdy·x̂ from Sum and Dot per slice, then dx = a·dy + b·x + e.</summary>
    public void BatchBackwardNchw(float[] x, int n, int c, int s, float[] mean, float[] rstd, float[] gamma, float[] dy, float[] dx,
        float[] dgamma, float[] dbeta) =>
        Split(c, (start, end, _) =>
        {
            long count = (long)n * s;
            for (int ch = start; ch < end; ch++)
            {
                double sumDy = 0, sumDyX = 0;
                for (int i = 0; i < n; i++)
                {
                    var xs = x.AsSpan((i * c + ch) * s, s);
                    var dys = dy.AsSpan((i * c + ch) * s, s);
                    sumDy += TensorPrimitives.Sum(dys);
                    sumDyX += TensorPrimitives.Dot(dys, xs);
                }
                float m = mean[ch], r = rstd[ch];
                double sumDyXhat = (sumDyX - m * sumDy) * r;
                dgamma[ch] = (float)sumDyXhat;
                dbeta[ch] = (float)sumDy;
                float meanG = (float)(gamma[ch] * sumDy / count), meanGx = (float)(gamma[ch] * sumDyXhat / count);
                float a = r * gamma[ch], b = -r * r * meanGx, e = r * (r * m * meanGx - meanG);
                for (int i = 0; i < n; i++)
                {
                    var dxs = dx.AsSpan((i * c + ch) * s, s);
                    TensorPrimitives.Multiply(dy.AsSpan((i * c + ch) * s, s), a, dxs);
                    TensorPrimitives.MultiplyAdd(x.AsSpan((i * c + ch) * s, s), b, dxs, dxs);
                    TensorPrimitives.Add(dxs, e, dxs);
                }
            }
        });

    /// <summary>BatchNorm training backward, channels-last: per-thread Σdy and Σdy·x per channel from each row, then dx = a·dy + b·x + e per row.</summary>
    public void BatchBackwardNhwc(float[] x, int rows, int c, float[] mean, float[] rstd, float[] gamma, float[] dy, float[] dx,
        float[] dgamma, float[] dbeta)
    {
        int workers = Math.Min(_threads, rows);
        Split(rows, (start, end, w) =>
        {
            var sums = _partialSums[w].AsSpan(0, 2 * c);
            var rowSum = _scratch[w].AsSpan(0, c);
            var rowDot = _scratch2[w].AsSpan(0, c);
            sums.Clear();
            const int Block = 64;
            for (int r0 = start; r0 < end; r0 += Block)
            {
                rowSum.Clear();
                rowDot.Clear();
                for (int r = r0; r < Math.Min(end, r0 + Block); r++)
                {
                    var dyr = dy.AsSpan(r * c, c);
                    TensorPrimitives.Add(dyr, rowSum, rowSum);
                    TensorPrimitives.MultiplyAdd(dyr, x.AsSpan(r * c, c), rowDot, rowDot);
                }
                for (int k = 0; k < c; k++)
                {
                    sums[k] += rowSum[k];
                    sums[c + k] += rowDot[k];
                }
            }
        });
        float[] a = _partialGamma[0], b = _partialBeta[0], e = _scratch[0];
        for (int k = 0; k < c; k++)
        {
            double sumDy = 0, sumDyX = 0;
            for (int w = 0; w < workers; w++)
            {
                sumDy += _partialSums[w][k];
                sumDyX += _partialSums[w][c + k];
            }
            float m = mean[k], r = rstd[k];
            double sumDyXhat = (sumDyX - m * sumDy) * r;
            dgamma[k] = (float)sumDyXhat;
            dbeta[k] = (float)sumDy;
            float meanG = (float)(gamma[k] * sumDy / rows), meanGx = (float)(gamma[k] * sumDyXhat / rows);
            a[k] = r * gamma[k];
            b[k] = -r * r * meanGx;
            e[k] = r * (r * m * meanGx - meanG);
        }
        Split(rows, (start, end, _) =>
        {
            for (int r = start; r < end; r++)
            {
                var dxr = dx.AsSpan(r * c, c);
                TensorPrimitives.Multiply(dy.AsSpan(r * c, c), a.AsSpan(0, c), dxr);
                TensorPrimitives.MultiplyAdd(x.AsSpan(r * c, c), b.AsSpan(0, c), dxr, dxr);
                TensorPrimitives.Add(dxr, e.AsSpan(0, c), dxr);
            }
        });
    }
}
