using Ruler.Onnx;
using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// ONNX Runtime (CPU, 1.31.1) as an independent oracle: one-node models of the ONNX operators, built in memory, fed
/// the same inputs and parameters as our modules. Tolerance in float32: |ours − onnx| ≤ 1e-5·max(1, |onnx|), i.e.
/// absolute 1e-5 for outputs of magnitude up to 1 and relative 1e-5 beyond (both sides round to float32, ≈ 6e-8
/// relative, and accumulate differently). In float64 (where ONNX Runtime has a double kernel): ≤ 1e-12·max(1, |onnx|).
/// The epsilon attribute is a float32, so our modules get exactly (double)1e-5f.
/// Facts about ONNX Runtime 1.31.1 these tests pin or rely on: RMSNormalization exists from opset 23 (a model stamped
/// 22 fails with "No Op registered for RMSNormalization with domain_version of 22"); SimplifiedLayerNormalization is
/// registered in the default domain (version 1), not in com.microsoft; GroupNormalization-18 takes per-group scale and
/// bias, -21 per-channel; InstanceNormalization has a float kernel only on CPU; the other four also run in float64.
/// </summary>
public class OnnxOracleTests
{
    private const float Epsilon = 1e-5f;
    private const double Float32Tolerance = 1e-5;
    private const double Float64Tolerance = 1e-12;

    private static T[] Random<T>(Random rng, int n, double mean, double std) where T : unmanaged =>
        TestData.Convert<T>(TestData.Normal(rng, n, mean, std));

    private static double[][] RunOnnx<T>(OneNodeModel model, params T[][] inputs) where T : unmanaged
    {
        using var runner = new OnnxRunner(model, intraOpThreads: 1);
        var outputs = runner.Run(inputs.Select((data, i) => new OnnxTensor<T>(data, model.Inputs[i].Shape)).ToArray());
        return outputs.Select(o => TestData.ToDouble(o.Data)).ToArray();
    }

    private static void AssertAgree<T>(double[] onnx, T[] ours, string what) where T : unmanaged
    {
        double tol = typeof(T) == typeof(float) ? Float32Tolerance : Float64Tolerance;
        var got = TestData.ToDouble(ours);
        Assert.Equal(onnx.Length, got.Length);
        for (int i = 0; i < onnx.Length; i++)
        {
            double allowed = tol * Math.Max(1, Math.Abs(onnx[i]));
            Assert.True(Math.Abs(got[i] - onnx[i]) <= allowed,
                $"{what}: element {i}: ONNX Runtime {onnx[i]:R}, ours {got[i]:R}, |diff| {Math.Abs(got[i] - onnx[i]):G3} > {allowed:G3}");
        }
    }

    public static TheoryData<int[], int, bool> LayerNormCases() => new()
    {
        // x shape, normalized rank, bias
        { [4, 16], 1, true },
        { [3, 5, 37], 1, true },
        { [2, 129], 1, false },
        { [2, 3, 4, 6], 2, true },
        { [3, 7, 5], 2, false },
    };

    [Theory, MemberData(nameof(LayerNormCases))]
    public void LayerNormMatchesOnnxLayerNormalizationOpset17InFloat(int[] shape, int normalizedRank, bool bias) =>
        CheckLayerNorm<float>(shape, normalizedRank, bias, OnnxElementType.Float);

    [Theory, MemberData(nameof(LayerNormCases))]
    public void LayerNormMatchesOnnxLayerNormalizationOpset17InDouble(int[] shape, int normalizedRank, bool bias) =>
        CheckLayerNorm<double>(shape, normalizedRank, bias, OnnxElementType.Double);

    private static void CheckLayerNorm<T>(int[] shape, int normalizedRank, bool bias, OnnxElementType type) where T : unmanaged
    {
        var rng = new Random(100 + shape.Sum());
        int[] normalized = shape[^normalizedRank..];
        int d = TestData.Count(normalized), n = TestData.Count(shape);
        var x = Random<T>(rng, n, 0.5, 2);
        var gamma = Random<T>(rng, d, 1, 0.5);
        var beta = Random<T>(rng, d, 0, 0.5);

        var ln = new LayerNorm<T>(normalized, Epsilon, bias: bias);
        gamma.CopyTo(ln.Weight.Value, 0);
        if (bias) beta.CopyTo(ln.Bias.Value, 0);
        var y = new T[n];
        ln.Forward(x, shape, y);

        var model = OneNodeModel.LayerNormalization(shape, axis: -normalizedRank, epsilon: Epsilon, type: type, bias: bias, opset: 17);
        var onnx = bias ? RunOnnx(model, x, gamma, beta) : RunOnnx(model, x, gamma);
        AssertAgree(onnx[0], y, $"LayerNorm {model}");
    }

    public static TheoryData<int[], int> RmsCases() => new()
    {
        { [4, 16], 1 },
        { [3, 5, 37], 1 },
        { [2, 3, 4, 6], 2 },
    };

    [Theory, MemberData(nameof(RmsCases))]
    public void RmsNormMatchesOnnxRmsNormalizationOpset23(int[] shape, int normalizedRank)
    {
        // ONNX added RMSNormalization in opset 23; ONNX Runtime 1.31.1 implements it (opset 22 is rejected: see below).
        CheckRms<float>(shape, normalizedRank, OneNodeModel.RmsNormalization(shape, -normalizedRank, Epsilon, OnnxElementType.Float, 23));
        CheckRms<double>(shape, normalizedRank, OneNodeModel.RmsNormalization(shape, -normalizedRank, Epsilon, OnnxElementType.Double, 23));
    }

    [Theory, MemberData(nameof(RmsCases))]
    public void RmsNormMatchesOnnxRuntimeSimplifiedLayerNormalization(int[] shape, int normalizedRank)
    {
        // ONNX Runtime's older RMSNorm, registered in the default domain (version 1), a second implementation to agree with.
        CheckRms<float>(shape, normalizedRank, OneNodeModel.SimplifiedLayerNormalization(shape, -normalizedRank, Epsilon, OnnxElementType.Float));
        CheckRms<double>(shape, normalizedRank, OneNodeModel.SimplifiedLayerNormalization(shape, -normalizedRank, Epsilon, OnnxElementType.Double));
    }

    private static void CheckRms<T>(int[] shape, int normalizedRank, OneNodeModel model) where T : unmanaged
    {
        var rng = new Random(200 + shape.Sum());
        int[] normalized = shape[^normalizedRank..];
        int d = TestData.Count(normalized), n = TestData.Count(shape);
        var x = Random<T>(rng, n, 0.5, 2);
        var gamma = Random<T>(rng, d, 1, 0.5);
        var rms = new RmsNorm<T>(normalized, Epsilon);
        gamma.CopyTo(rms.Weight.Value, 0);
        var y = new T[n];
        rms.Forward(x, shape, y);
        AssertAgree(RunOnnx(model, x, gamma)[0], y, $"RmsNorm vs {model}");
    }

    [Fact]
    public void OnnxRuntimeHasNoRmsNormalizationBeforeOpset23()
    {
        // Pins the fact the RMS oracle relies on: the operator is opset 23, nothing earlier resolves it.
        var e = Assert.ThrowsAny<Exception>(() => new OnnxRunner(OneNodeModel.RmsNormalization([2, 4], opset: 22), 1));
        Assert.Contains("RMSNormalization", e.Message);
    }

    [Fact]
    public void SimplifiedLayerNormalizationLivesInTheDefaultDomainNotComMicrosoft()
    {
        int[] shape = [2, 4];
        var contrib = OneNodeModel.Create("SimplifiedLayerNormalization", 17, OnnxElementType.Float,
            [new("X", shape), new("scale", [4])], [new("Y", shape)], [OnnxAttribute.Float("epsilon", Epsilon)],
            OneNodeModel.MicrosoftDomain);
        var e = Assert.ThrowsAny<Exception>(() => new OnnxRunner(contrib, 1));
        Assert.Contains("not a registered function/op", e.Message);
        using var _ = new OnnxRunner(OneNodeModel.SimplifiedLayerNormalization(shape), 1);
    }

    public static TheoryData<int[]> ChannelShapes() => new() { new[] { 4, 3 }, new[] { 2, 3, 7 }, new[] { 3, 4, 5, 6 }, new[] { 2, 2, 3, 2, 3 } };

    [Theory, MemberData(nameof(ChannelShapes))]
    public void BatchNormEvalMatchesOnnxBatchNormalizationOpset15(int[] shape)
    {
        CheckBatchNormEval<float>(shape, OnnxElementType.Float);
        CheckBatchNormEval<double>(shape, OnnxElementType.Double);
    }

    private static void CheckBatchNormEval<T>(int[] shape, OnnxElementType type) where T : unmanaged
    {
        var rng = new Random(300 + shape.Sum());
        int c = shape[1], n = TestData.Count(shape);
        var x = Random<T>(rng, n, 0.5, 2);
        var gamma = Random<T>(rng, c, 1, 0.5);
        var beta = Random<T>(rng, c, 0, 0.5);
        var mean = Random<T>(rng, c, 0.3, 1);
        var var = TestData.Convert<T>(TestData.Uniform(rng, c, 0.2, 3));
        var bn = new BatchNorm<T>(c, Epsilon) { Training = false };
        gamma.CopyTo(bn.Weight.Value, 0);
        beta.CopyTo(bn.Bias.Value, 0);
        mean.CopyTo(bn.Running!.Mean, 0);
        var.CopyTo(bn.Running.Variance, 0);
        var y = new T[n];
        bn.Forward(x, shape, y);
        var model = OneNodeModel.BatchNormalization(shape, Epsilon, type);
        AssertAgree(RunOnnx(model, x, gamma, beta, mean, var)[0], y, $"BatchNorm eval {model}");
    }

    [Theory, MemberData(nameof(ChannelShapes))]
    public void BatchNormTrainingMatchesOnnxBatchNormalizationFedTheBatchStatistics(int[] shape)
    {
        // Training mode normalizes with the batch mean and biased variance; ONNX's inference-mode operator given those
        // (computed by the tests' oracle) must produce the same output.
        var rng = new Random(400 + shape.Sum());
        int c = shape[1], n = TestData.Count(shape);
        var x = TestData.Normal(rng, n, 0.5, 2);
        var gamma = TestData.Normal(rng, c, 1, 0.5);
        var beta = TestData.Normal(rng, c, 0, 0.5);
        var stats = Oracle.Normalize(x, shape, i => i[1], c, i => i[1], true, 0);
        var biasedVar = stats.Rstd.Select(r => 1 / (r * r)).ToArray();
        var bn = new BatchNorm<double>(c, Epsilon);
        gamma.CopyTo(bn.Weight.Value, 0);
        beta.CopyTo(bn.Bias.Value, 0);
        var y = new double[n];
        bn.Forward(x, shape, y);
        var model = OneNodeModel.BatchNormalization(shape, Epsilon, OnnxElementType.Double);
        AssertAgree(RunOnnx(model, x, gamma, beta, stats.Mean, biasedVar)[0], y, $"BatchNorm train {model}");
    }

    public static TheoryData<int[], int> GroupCases() => new()
    {
        { [2, 6, 5], 1 },
        { [2, 6, 5], 3 },
        { [2, 6, 5], 6 },
        { [3, 8, 4, 3], 4 },
        { [2, 4, 3, 2, 2], 2 },
    };

    [Theory, MemberData(nameof(GroupCases))]
    public void GroupNormMatchesOnnxGroupNormalizationOpset21WithPerChannelScaleAndBias(int[] shape, int groups)
    {
        CheckGroupNorm<float>(shape, groups, OnnxElementType.Float);
        CheckGroupNorm<double>(shape, groups, OnnxElementType.Double);
    }

    private static void CheckGroupNorm<T>(int[] shape, int groups, OnnxElementType type) where T : unmanaged
    {
        var rng = new Random(500 + shape.Sum() + groups);
        int c = shape[1], n = TestData.Count(shape);
        var x = Random<T>(rng, n, 0.5, 2);
        // Distinct γ and β for every channel: a per-group reading of scale and bias (opset 18) would not match.
        var gamma = Random<T>(rng, c, 1, 0.5);
        var beta = Random<T>(rng, c, 0, 0.5);
        var gn = new GroupNorm<T>(groups, c, Epsilon);
        gamma.CopyTo(gn.Weight.Value, 0);
        beta.CopyTo(gn.Bias.Value, 0);
        var y = new T[n];
        gn.Forward(x, shape, y);
        var model = OneNodeModel.GroupNormalization(shape, groups, Epsilon, type, opset: 21);
        AssertAgree(RunOnnx(model, x, gamma, beta)[0], y, $"GroupNorm {model}");
    }

    [Fact]
    public void GroupNormalizationScaleIsPerGroupInOpset18AndPerChannelInOpset21()
    {
        // Opset 18 indexed scale and bias by group (shape (G)); opset 21 changed them to per channel (shape (C)).
        // Our per-channel GroupNorm reproduces opset 18 when every channel gets its group's γ and β, and ONNX Runtime
        // refuses a per-group scale under opset 21.
        int[] shape = [2, 6, 5];
        const int groups = 3;
        var rng = new Random(700);
        var x = Random<float>(rng, 60, 0.5, 2);
        var scale = Random<float>(rng, groups, 1, 0.5);
        var bias = Random<float>(rng, groups, 0, 0.5);
        var opset18 = OneNodeModel.Create("GroupNormalization", 18, OnnxElementType.Float,
            [new("X", shape), new("scale", [groups]), new("bias", [groups])], [new("Y", shape)],
            [OnnxAttribute.Float("epsilon", Epsilon), OnnxAttribute.Int("num_groups", groups)]);
        var gn = new GroupNorm<float>(groups, 6, Epsilon);
        for (int c = 0; c < 6; c++)
        {
            gn.Weight.Value[c] = scale[c / 2];
            gn.Bias.Value[c] = bias[c / 2];
        }
        var y = new float[60];
        gn.Forward(x, shape, y);
        AssertAgree(RunOnnx(opset18, x, scale, bias)[0], y, "GroupNorm vs GroupNormalization-18 (per-group scale)");

        var perGroupUnder21 = OneNodeModel.Create("GroupNormalization", 21, OnnxElementType.Float,
            [new("X", shape), new("scale", [groups]), new("bias", [groups])], [new("Y", shape)],
            [OnnxAttribute.Float("epsilon", Epsilon), OnnxAttribute.Int("num_groups", groups)]);
        Assert.ThrowsAny<Exception>(() => RunOnnx(perGroupUnder21, x, scale, bias));
    }

    [Theory, MemberData(nameof(ChannelShapes))]
    public void InstanceNormMatchesOnnxInstanceNormalizationInFloat(int[] shape)
    {
        // ONNX Runtime's CPU InstanceNormalization has a float kernel only (double: NOT_IMPLEMENTED), and it needs spatial dims.
        if (shape.Length < 3) shape = [.. shape, 5];
        var rng = new Random(600 + shape.Sum());
        int c = shape[1], n = TestData.Count(shape);
        var x = Random<float>(rng, n, 0.5, 2);
        var gamma = Random<float>(rng, c, 1, 0.5);
        var beta = Random<float>(rng, c, 0, 0.5);
        var inorm = new InstanceNorm<float>(c, Epsilon, affine: true);
        gamma.CopyTo(inorm.Weight.Value, 0);
        beta.CopyTo(inorm.Bias.Value, 0);
        var y = new float[n];
        inorm.Forward(x, shape, y);
        var model = OneNodeModel.InstanceNormalization(shape, Epsilon);
        AssertAgree(RunOnnx(model, x, gamma, beta)[0], y, $"InstanceNorm {model}");
    }
}
