namespace Ruler.Tests;

public class LayerNormSmokeTests
{
    [Fact]
    public void ShiftedAndScaledVectorsNormalizeToTheSamePattern()
    {
        var ln = new LayerNorm<double>([3]);
        foreach (var x in new[] { new double[] { 1, 2, 3 }, [101, 102, 103], [10, 20, 30] })
        {
            var y = new double[3];
            ln.Forward(x, [1, 3], y);
            Assert.Equal(-1.2247, y[0], 4);
            Assert.Equal(0, y[1], 12);
            Assert.Equal(1.2247, y[2], 4);
        }
    }
}
