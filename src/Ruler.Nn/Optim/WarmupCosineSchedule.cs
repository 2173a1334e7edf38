namespace Ruler.Nn.Optim;

/// <summary>
/// Linear warmup then cosine decay to a floor (the llm.c / nanoGPT schedule). For step s (0-based):
/// s &lt; W: peak·(s + 1)/W; W ≤ s &lt; S: floor + ½(1 + cos(π·(s − W)/(S − W)))·(peak − floor); s ≥ S: floor.
/// So the last warmup step reaches the peak, step W starts the decay at the peak, and step S lands on the floor.
/// </summary>
public sealed class WarmupCosineSchedule : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="peak">Learning rate at the end of warmup (finite, ≥ 0).</param>
    /// <param name="warmupSteps">Number of warmup steps W (≥ 0; 0 starts at the peak).</param>
    /// <param name="totalSteps">Step S at which the floor is reached (&gt; W).</param>
    /// <param name="floor">Final learning rate (finite, in [0, peak]).</param>
    public WarmupCosineSchedule(double peak, int warmupSteps, int totalSteps, double floor = 0)
    {
        Peak = Setting.NonNegative(peak, nameof(peak));
        Floor = Setting.NonNegative(floor, nameof(floor));
        if (floor > peak)
            throw new ArgumentOutOfRangeException(nameof(floor), floor, $"floor: expected a value <= peak {peak:R}, got {floor:R}.");
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (totalSteps <= warmupSteps)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps,
                $"totalSteps: expected more than warmupSteps ({warmupSteps}), got {totalSteps}.");
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
    }

    /// <summary>Learning rate at the end of warmup.</summary>
    public double Peak { get; }

    /// <summary>Learning rate from <see cref="TotalSteps"/> on.</summary>
    public double Floor { get; }

    /// <summary>Number of linear warmup steps.</summary>
    public int WarmupSteps { get; }

    /// <summary>Step at which the floor is reached.</summary>
    public int TotalSteps { get; }

    /// <inheritdoc />
    protected override double Compute(int step)
    {
        if (step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        if (step >= TotalSteps) return Floor;
        double progress = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        return Floor + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (Peak - Floor);
    }
}
