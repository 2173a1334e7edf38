namespace Ruler.Nn.Optim;

/// <summary>The same learning rate at every step.</summary>
/// <param name="learningRate">The learning rate (finite, ≥ 0).</param>
public sealed class ConstantSchedule(double learningRate) : LearningRateSchedule
{
    /// <summary>The learning rate.</summary>
    public double LearningRate { get; } = Setting.NonNegative(learningRate, nameof(learningRate));

    /// <inheritdoc />
    protected override double Compute(int step) => LearningRate;
}
