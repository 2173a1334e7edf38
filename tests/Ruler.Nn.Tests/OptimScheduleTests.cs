using Ruler.Nn.Optim;

namespace Ruler.Nn.Tests;

public class OptimScheduleTests
{
    private static readonly WarmupCosineSchedule Schedule = new(peak: 1e-3, warmupSteps: 10, totalSteps: 110, floor: 1e-4);

    [Theory]
    [InlineData(0, 1e-4)]      // (0 + 1)/10 of the peak
    [InlineData(4, 5e-4)]
    [InlineData(9, 1e-3)]      // the last warmup step reaches the peak
    [InlineData(10, 1e-3)]     // the decay starts at the peak
    [InlineData(60, 5.5e-4)]   // half way: cos(π/2) = 0, the mean of peak and floor
    [InlineData(110, 1e-4)]    // the floor at totalSteps
    [InlineData(5000, 1e-4)]   // and after it
    public void WarmupCosineHasTheExpectedValueAtKeySteps(int step, double expected) =>
        Assert.Equal(expected, Schedule.At(step), 1e-15);

    [Fact]
    public void WarmupCosineQuarterWayMatchesTheCosineFormula() =>
        // progress 1/4: floor + ½(1 + cos(π/4))·(peak − floor)
        Assert.Equal(1e-4 + 0.5 * (1 + Math.Sqrt(0.5)) * 9e-4, Schedule.At(35), 1e-15);

    [Fact]
    public void WarmupCosineRisesDuringWarmupAndNeverRisesAfter()
    {
        for (int s = 1; s < 10; s++) Assert.True(Schedule.At(s) > Schedule.At(s - 1), $"step {s}");
        for (int s = 11; s <= 120; s++) Assert.True(Schedule.At(s) <= Schedule.At(s - 1), $"step {s}");
    }

    [Fact]
    public void NoWarmupStartsAtThePeak() =>
        Assert.Equal(2e-3, new WarmupCosineSchedule(2e-3, 0, 100).At(0));

    [Fact]
    public void ConstantIsConstant()
    {
        var c = new ConstantSchedule(3e-4);
        Assert.Equal(3e-4, c.At(0));
        Assert.Equal(3e-4, c.At(1_000_000));
    }

    [Fact]
    public void InvalidSchedulesAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(1e-3, 10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(1e-3, -1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(1e-3, 0, 10, floor: 2e-3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantSchedule(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.At(-1));
    }
}
