using System.Numerics;

namespace Ruler.Nn.Optim;

/// <summary>Gradient clipping by the global L2 norm over all parameters (<c>torch.nn.utils.clip_grad_norm_</c>).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Computes the L2 norm of all gradients taken together (in float64); when it exceeds
    /// <paramref name="maxNorm"/>, scales every gradient by maxNorm/norm so the new global norm is maxNorm.
    /// A non-finite norm leaves the gradients untouched, so the caller can see it and skip the step.
    /// </summary>
    /// <param name="parameters">Parameters whose gradients are clipped in place.</param>
    /// <param name="maxNorm">Largest allowed global norm (finite, &gt; 0).</param>
    /// <returns>The global norm before clipping.</returns>
    public static double ClipByGlobalNorm<T>(IReadOnlyList<Parameter<T>> parameters, double maxNorm)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Setting.Positive(maxNorm, nameof(maxNorm));
        double sumSquares = 0;
        foreach (var p in parameters)
            foreach (T g in p.Grad)
            {
                double d = double.CreateTruncating(g);
                sumSquares += d * d;
            }
        double norm = Math.Sqrt(sumSquares);
        if (norm > maxNorm && double.IsFinite(norm))
        {
            double scale = maxNorm / norm;
            foreach (var p in parameters)
            {
                T[] grad = p.Grad;
                for (int i = 0; i < grad.Length; i++) grad[i] = T.CreateTruncating(double.CreateTruncating(grad[i]) * scale);
            }
        }
        return norm;
    }
}
