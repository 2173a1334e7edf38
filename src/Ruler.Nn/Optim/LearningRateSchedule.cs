namespace Ruler.Nn.Optim;

/// <summary>A learning rate as a function of the step index (0 for the first update).</summary>
public abstract class LearningRateSchedule
{
    /// <summary>The learning rate for the update with 0-based index <paramref name="step"/>.</summary>
    /// <param name="step">0 for the first update; must be ≥ 0.</param>
    public double At(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return Compute(step);
    }

    /// <summary>The learning rate at a validated step (≥ 0).</summary>
    /// <param name="step">0-based update index.</param>
    protected abstract double Compute(int step);
}
