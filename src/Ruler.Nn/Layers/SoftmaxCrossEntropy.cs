namespace Ruler.Nn;

/// <summary>
/// Mean softmax cross-entropy over rows of logits: loss = −(1/N)·Σ log softmax(z)[target]; computed with the row
/// max subtracted. Backward: dz = (softmax(z) − onehot(target))/N.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class SoftmaxCrossEntropy<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[]? _probs, _dz;
    private int[]? _targets;
    private int _classes;

    /// <summary>Softmax probabilities of the last forward (rows×classes).</summary>
    public ReadOnlySpan<T> Probabilities => _probs;

    /// <summary>The mean loss for logits (rows×classes) and one target class per row.</summary>
    public double Forward(T[] logits, int[] targets, int classes)
    {
        if (classes < 1 || logits.Length != targets.Length * classes)
            throw new ArgumentException($"SoftmaxCrossEntropy: logits need {targets.Length}×{classes} elements, got {logits.Length}.", nameof(logits));
        _targets = targets;
        _classes = classes;
        var probs = Ensure(ref _probs, logits.Length);
        double loss = 0;
        for (int r = 0; r < targets.Length; r++)
        {
            int target = targets[r];
            if ((uint)target >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(targets), $"SoftmaxCrossEntropy: target {target} at row {r} is outside [0, {classes}).");
            var z = logits.AsSpan(r * classes, classes);
            var p = probs.AsSpan(r * classes, classes);
            T max = T.NegativeInfinity;
            foreach (T v in z) if (v > max) max = v;
            T sum = T.Zero;
            for (int j = 0; j < classes; j++)
            {
                p[j] = T.Exp(z[j] - max);
                sum += p[j];
            }
            T inv = T.One / sum;
            for (int j = 0; j < classes; j++) p[j] *= inv;
            // log p[target] = z[target] − max − log Σ: exact even when p[target] underflows.
            loss -= double.CreateTruncating(z[target] - max) - Math.Log(double.CreateTruncating(sum));
        }
        return loss / targets.Length;
    }

    /// <summary>dz = (p − onehot)/rows for the last forward.</summary>
    public T[] Backward()
    {
        var targets = _targets ?? throw new InvalidOperationException("SoftmaxCrossEntropy.Backward before Forward.");
        var probs = _probs!;
        var dz = Ensure(ref _dz, probs.Length);
        T inv = Const(1.0 / targets.Length);
        for (int r = 0; r < targets.Length; r++)
            for (int j = 0; j < _classes; j++)
                dz[r * _classes + j] = (probs[r * _classes + j] - (j == targets[r] ? T.One : T.Zero)) * inv;
        return dz;
    }
}
