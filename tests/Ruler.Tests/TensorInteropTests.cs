using System.Buffers;
using System.Numerics.Tensors;
using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// The Tensor&lt;T&gt;/TensorSpan&lt;T&gt; overloads (module extension members and <see cref="RulerTensorOps"/>) against the span
/// API as the oracle: identical bits for dense tensors (the overloads must read and write the same memory in the same
/// order), and a refusal naming the argument, with nothing written, for every view that is not dense row-major.
/// </summary>
public class TensorInteropTests
{
    private static float[] Data(int seed, int count, double offset = 0.5) => TestData.ToFloat(TestData.Normal(new Random(seed), count, offset, 2));

    private static nint[] Lengths(int[] shape) => Array.ConvertAll(shape, d => (nint)d);

    /// <summary>The elements in row-major order, read by the BCL's own flattening (not by the code under test).</summary>
    private static T[] Flat<T>(Tensor<T> t)
    {
        var a = new T[t.FlattenedLength];
        t.AsReadOnlyTensorSpan().FlattenTo(a);
        return a;
    }

    private static void AssertBits(float[] expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    public static TheoryData<string> Modules() => ["LayerNorm", "RmsNorm", "BatchNorm", "BatchNormEval", "GroupNorm", "InstanceNorm", "DyT", "BatchNormChannelsLast"];

    private static (Normalizer<float> Module, int[] Shape) Make(string name) => name switch
    {
        "LayerNorm" => (new LayerNorm<float>([6]), [2, 3, 6]),
        "RmsNorm" => (new RmsNorm<float>([3, 6]), [2, 3, 6]),
        "BatchNorm" => (new BatchNorm<float>(3), [4, 3, 5]),
        "BatchNormEval" => (new BatchNorm<float>(3) { Training = false }, [4, 3, 5]),
        "BatchNormChannelsLast" => (new BatchNorm<float>(3, layout: ChannelLayout.ChannelsLast), [4, 5, 3]),
        "GroupNorm" => (new GroupNorm<float>(2, 4), [2, 4, 3]),
        "InstanceNorm" => (new InstanceNorm<float>(3, affine: true), [2, 3, 7]),
        "DyT" => (new DynamicTanh<float>([5]), [3, 5]),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Modules))]
    public void ModuleForwardAndBackwardOnTensorsMatchTheSpanApiBitForBit(string name)
    {
        var (bySpan, shape) = Make(name);
        var (byTensor, _) = Make(name);
        int n = TestData.Count(shape);
        float[] x = Data(1, n), dy = Data(2, n, 0);
        foreach (var p in bySpan.Parameters.Concat(byTensor.Parameters)) Array.Copy(Data(3, p.Value.Length, 1), p.Value, p.Value.Length);

        var y = new float[n];
        var dx = new float[n];
        for (int step = 0; step < 2; step++)   // twice: running statistics and accumulated gradients evolve alike
        {
            bySpan.Forward(x, shape, y);
            bySpan.Backward(x, shape, dy, dx);

            var xt = Tensor.Create(x.ToArray(), Lengths(shape));
            var yt = Tensor.CreateFromShape<float>(Lengths(shape));
            var dxt = Tensor.CreateFromShape<float>(Lengths(shape));
            byTensor.Forward(xt, yt);
            byTensor.Backward(xt, Tensor.Create(dy, Lengths(shape)), dxt);
            AssertBits(y, Flat(yt));
            AssertBits(dx, Flat(dxt));
        }
        for (int k = 0; k < bySpan.Parameters.Count; k++)
            AssertBits(bySpan.Parameters[k].Grad, byTensor.Parameters[k].Grad);
        Assert.Equal(bySpan.StateDict().Keys, byTensor.StateDict().Keys);
        foreach (var (key, value) in bySpan.StateDict())
            if (value is float[] f) AssertBits(f, (float[])byTensor.StateDict()[key]);
    }

    [Fact]
    public void TheAllocatingOverloadsReturnTheSameBitsAndTheInputShape()
    {
        int[] shape = [2, 3, 4];
        float[] x = Data(4, 24), dy = Data(5, 24, 0);
        var a = new LayerNorm<float>([4]);
        var b = new LayerNorm<float>([4]);
        float[] y = new float[24], dx = new float[24];
        a.Forward(x, shape, y);
        a.Backward(x, shape, dy, dx);
        var xt = Tensor.Create(x, Lengths(shape));
        Tensor<float> yt = b.Forward(xt);
        Tensor<float> dxt = b.Backward(xt, Tensor.Create(dy, Lengths(shape)));
        Assert.Equal(Lengths(shape), yt.Lengths.ToArray());
        AssertBits(y, Flat(yt));
        AssertBits(dx, Flat(dxt));
    }

    [Fact]
    public void DenseTensorsAreUsedInPlaceWithoutACopy()
    {
        // In place: y is the same memory as x (the span API's in-place forward); the tensor's own array is written.
        float[] data = Data(6, 12);
        float[] expected = new float[12];
        new LayerNorm<float>([4]).Forward(data, [3, 4], expected);
        var t = new TensorSpan<float>(data, [3, 4]);
        new LayerNorm<float>([4]).Forward(t, t);
        AssertBits(expected, data);

        // A dense slice (rows 1..2 of a 4 x 4 array) is a contiguous block: it is read and written where it lies.
        float[] big = Data(7, 16), copy = big.ToArray();
        var rows = new TensorSpan<float>(big, [4, 4]).Slice([new NRange(1, 3), NRange.All]);
        var outRows = new float[8];
        new LayerNorm<float>([4]).Forward(rows, new TensorSpan<float>(outRows, [2, 4]));
        var reference = new float[8];
        new LayerNorm<float>([4]).Forward(copy.AsSpan(4, 8), [2, 4], reference);
        AssertBits(reference, outRows);
        AssertBits(copy, big);   // the input was not touched
    }

    public static TheoryData<string, nint[], nint[]> BadViews() => new()
    {
        { "transposed", [4, 3], [1, 4] },
        { "strided slice", [3, 2], [4, 1] },
        { "broadcast", [3, 4], [0, 1] },
        { "every other element", [3, 2], [4, 2] },
    };

    [Theory]
    [MemberData(nameof(BadViews))]
    public void ViewsThatAreNotDenseRowMajorAreRefusedByNameAndNothingIsWritten(string what, nint[] lengths, nint[] strides)
    {
        float[] backing = Data(8, 12);
        int n = (int)(lengths[0] * lengths[1]);
        var y = new float[n];
        Array.Fill(y, 42f);
        var module = new LayerNorm<float>([(int)lengths[1]]);

        var e = Assert.Throws<ArgumentException>(() => module.Forward(new ReadOnlyTensorSpan<float>(backing, lengths, strides), new TensorSpan<float>(y, lengths)));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("dense row-major", e.Message);
        Assert.Contains("strides [" + string.Join(", ", strides) + "]", e.Message);
        Assert.All(y, v => Assert.Equal(42f, v));

        // As an output: refused by its name, and the input is not read into the wrong places either.
        var dense = Tensor.Create(Data(9, n), lengths);
        e = Assert.Throws<ArgumentException>(() => module.Forward(dense, new TensorSpan<float>(backing.ToArray(), lengths, strides)));
        Assert.Equal("y", e.ParamName);

        e = Assert.Throws<ArgumentException>(() =>
            RulerTensorOps.Forward(RulerSpec.LayerNorm(), new ReadOnlyTensorSpan<float>(backing, lengths, strides), ReadOnlySpan<float>.Empty, default, new TensorSpan<float>(y, lengths),
                new double[lengths[0]], new double[lengths[0]]));
        Assert.Equal("x", e.ParamName);
        Assert.All(y, v => Assert.Equal(42f, v));
        _ = what;
    }

    [Fact]
    public void MismatchedLengthsAreRefusedByName()
    {
        var module = new LayerNorm<float>([4]);
        var x = Tensor.Create(Data(10, 12), [3, 4]);
        var e = Assert.Throws<ArgumentException>(() => module.Forward(x, Tensor.CreateFromShape<float>([4, 3])));
        Assert.Equal("y", e.ParamName);
        Assert.Contains("the lengths of x, [3, 4]", e.Message);
        module.Forward(x, Tensor.CreateFromShape<float>([3, 4]));
        e = Assert.Throws<ArgumentException>(() => module.Backward(x, Tensor.CreateFromShape<float>([12]), Tensor.CreateFromShape<float>([3, 4])));
        Assert.Equal("dy", e.ParamName);

        var add = new AddLayerNorm<float>([4]);
        e = Assert.Throws<ArgumentException>(() => add.Forward(x, Tensor.CreateFromShape<float>([3, 5]), Tensor.CreateFromShape<float>([3, 4]),
            Tensor.CreateFromShape<float>([3, 4])));
        Assert.Equal("u", e.ParamName);
    }

    [Fact]
    public void AddNormModulesOnTensorsMatchTheSpanApiBitForBit()
    {
        int[] shape = [3, 8];
        float[] x = Data(11, 24), u = Data(12, 24), dy = Data(13, 24, 0), dh = Data(14, 24, 0);
        var a = new AddRmsNorm<float>([8]);
        var b = new AddRmsNorm<float>([8]);
        float[] h = new float[24], y = new float[24], dsum = new float[24], dsumNoDh = new float[24];
        a.Forward(x, u, shape, h, y);
        a.Backward(h, shape, dy, dh, dsum);
        a.Backward(h, shape, dy, default, dsumNoDh);

        var ht = Tensor.CreateFromShape<float>([3, 8]);
        var yt = Tensor.CreateFromShape<float>([3, 8]);
        var dsumT = Tensor.CreateFromShape<float>([3, 8]);
        var dsumNoDhT = Tensor.CreateFromShape<float>([3, 8]);
        b.Forward(Tensor.Create(x, [3, 8]), Tensor.Create(u, [3, 8]), ht, yt);
        b.Backward(ht, Tensor.Create(dy, [3, 8]), Tensor.Create(dh, [3, 8]), dsumT);
        b.Backward(ht, Tensor.Create(dy, [3, 8]), dsumNoDhT);
        AssertBits(h, Flat(ht));
        AssertBits(y, Flat(yt));
        AssertBits(dsum, Flat(dsumT));
        AssertBits(dsumNoDh, Flat(dsumNoDhT));
        AssertBits(a.Parameters[0].Grad, b.Parameters[0].Grad);
    }

    [Fact]
    public void FunctionalTensorOpsMatchRulerOpsBitForBit()
    {
        int[] shape = [2, 3, 4];
        nint[] lengths = Lengths(shape);
        var bn = RulerSpec.BatchNorm(3);
        float[] x = Data(15, 24), u = Data(16, 24), dy = Data(17, 24, 0), dh = Data(18, 24, 0);
        float[] gamma = Data(19, 3, 1), beta = Data(20, 3, 0);
        var (mean, rstd) = bn.AllocateStatistics(shape);
        var (meanT, rstdT) = bn.AllocateStatistics(shape);
        var xt = Tensor.Create(x, lengths);

        var moments = new GroupMoments[3];
        var momentsT = new GroupMoments[3];
        RulerOps.Moments<float>(bn, x, shape, moments);
        RulerTensorOps.Moments<float>(bn, xt, momentsT);
        Assert.Equal(moments, momentsT);

        float[] y = new float[24];
        var yt = Tensor.CreateFromShape<float>(lengths);
        RulerOps.Forward<float>(bn, x, shape, gamma, beta, y, mean, rstd);
        RulerTensorOps.Forward(bn, xt, gamma, beta, yt, meanT, rstdT);
        AssertBits(y, Flat(yt));
        Assert.Equal(mean, meanT);
        Assert.Equal(rstd, rstdT);

        RulerOps.Normalize<float>(bn, x, shape, mean, rstd, gamma, beta, y);
        RulerTensorOps.Normalize(bn, xt, meanT, rstdT, gamma, beta, yt);
        AssertBits(y, Flat(yt));

        float[] dx = new float[24], dg = new float[3], db = new float[3], dgT = new float[3], dbT = new float[3];
        var dxt = Tensor.CreateFromShape<float>(lengths);
        RulerOps.Backward<float>(bn, x, shape, mean, rstd, gamma, dy, dx, dg, db);
        RulerTensorOps.Backward(bn, xt, meanT, rstdT, gamma, Tensor.Create(dy, lengths), dxt, dgT, dbT);
        AssertBits(dx, Flat(dxt));
        AssertBits(dg, dgT);
        AssertBits(db, dbT);

        var ln = RulerSpec.LayerNorm();
        var (m2, r2) = ln.AllocateStatistics(shape);
        var (m2T, r2T) = ln.AllocateStatistics(shape);
        float[] h = new float[24], lnGamma = Data(21, 4, 1), lnBeta = Data(22, 4, 0);
        var ht = Tensor.CreateFromShape<float>(lengths);
        RulerOps.AddForward<float>(ln, x, u, shape, lnGamma, lnBeta, h, y, m2, r2);
        RulerTensorOps.AddForward(ln, xt, Tensor.Create(u, lengths), lnGamma, lnBeta, ht, yt, m2T, r2T);
        AssertBits(h, Flat(ht));
        AssertBits(y, Flat(yt));

        float[] dsum = new float[24], dg4 = new float[4], db4 = new float[4], dg4T = new float[4], db4T = new float[4];
        var dsumT = Tensor.CreateFromShape<float>(lengths);
        RulerOps.AddBackward<float>(ln, h, shape, m2, r2, lnGamma, dy, dh, dsum, dg4, db4);
        RulerTensorOps.AddBackward(ln, ht, m2T, r2T, lnGamma, Tensor.Create(dy, lengths), Tensor.Create(dh, lengths), dsumT, dg4T, db4T);
        AssertBits(dsum, Flat(dsumT));
        AssertBits(dg4, dg4T);
        AssertBits(db4, db4T);
        RulerOps.AddBackward<float>(ln, h, shape, m2, r2, lnGamma, dy, default, dsum, dg4, db4);
        RulerTensorOps.AddBackward(ln, ht, m2T, r2T, lnGamma, Tensor.Create(dy, lengths), dsumT, dg4T, db4T);
        AssertBits(dsum, Flat(dsumT));
    }

    [Fact]
    public void DoubleAndHalfTensorsWorkLikeFloat()
    {
        double[] xd = TestData.Normal(new Random(23), 12, 1, 3);
        var yd = new double[12];
        new LayerNorm<double>([4]).Forward(xd, [3, 4], yd);
        var ydt = new LayerNorm<double>([4]).Forward(Tensor.Create(xd, [3, 4]));
        Assert.Equal(yd, Flat(ydt).ToArray());

        Half[] xh = TestData.Convert<Half>(xd);
        var yh = new Half[12];
        new RmsNorm<Half>([4]).Forward(xh, [3, 4], yh);
        var yht = new RmsNorm<Half>([4]).Forward(Tensor.Create(xh, [3, 4]));
        Assert.Equal(yh, Flat(yht).ToArray());
    }

    [Fact]
    public void TheWritingOverloadsAllocateNothing()
    {
        var module = new LayerNorm<float>([64]);
        var x = Tensor.Create(Data(24, 4 * 64), [4, 64]);
        var y = Tensor.CreateFromShape<float>([4, 64]);
        var dx = Tensor.CreateFromShape<float>([4, 64]);
        var dy = Tensor.Create(Data(25, 4 * 64, 0), [4, 64]);
        ReadOnlyTensorSpan<float> xs = x, dys = dy;
        TensorSpan<float> ys = y, dxs = dx;
        module.Forward(xs, ys);
        module.Backward(xs, dys, dxs);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            module.Forward(xs, ys);
            module.Backward(xs, dys, dxs);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
