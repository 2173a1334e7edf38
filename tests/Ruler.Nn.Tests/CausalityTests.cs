namespace Ruler.Nn.Tests;

/// <summary>A causal model's logits at position t may depend only on tokens ≤ t.</summary>
public class CausalityTests
{
    private static (float[] Before, float[] After) EditToken(NormKind norm, int batch, int time, int edited)
    {
        var model = new CharTransformer<float>(new TransformerConfig(11, 16, 2, 16, 4) { Norm = norm }, seed: 5);
        var rng = new Rng(6);
        var tokens = new int[batch * time];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = rng.NextInt(11);
        var before = (float[])model.Forward(tokens, batch, time).Clone();
        tokens[edited] = (tokens[edited] + 1) % 11;
        return (before, (float[])model.Forward(tokens, batch, time).Clone());
    }

    [Fact]
    public void EditingTokenTPlusOneNeverChangesLogitsUpToTWithLayerNorm()
    {
        int batch = 2, time = 12, v = 11;
        for (int t = 0; t + 1 < time; t++)
        {
            var (before, after) = EditToken(NormKind.LayerNorm, batch, time, batch * time - time + t + 1); // in the last sequence
            for (int b = 0; b < batch; b++)
                for (int u = 0; u < time; u++)
                {
                    bool mayChange = b == batch - 1 && u > t;
                    if (mayChange) continue;
                    for (int j = 0; j < v; j++)
                    {
                        int i = (b * time + u) * v + j;
                        Assert.True(before[i] == after[i], $"edit at t+1={t + 1}: logit (b={b}, pos {u}, {j}) changed {before[i]} → {after[i]}");
                    }
                }
            // The edited position itself must react, or the test would pass on a model that ignores its input.
            int row = ((batch - 1) * time + t + 1) * v;
            Assert.NotEqual(before.AsSpan(row, v).ToArray(), after.AsSpan(row, v).ToArray());
        }
    }

    [Fact]
    public void BatchNormOverBatchTimesTimeLeaksTheFutureInTraining()
    {
        int batch = 2, time = 12, v = 11;
        var (before, after) = EditToken(NormKind.BatchNorm, batch, time, time - 1);
        // Position 0 of sequence 0 sees the edit at its last position through the batch statistics.
        double change = 0;
        for (int j = 0; j < v; j++) change = Math.Max(change, Math.Abs(before[j] - after[j]));
        Assert.True(change > 1e-6, $"BatchNorm should leak: max change {change}");
    }
}
