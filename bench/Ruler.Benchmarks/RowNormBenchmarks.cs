using BenchmarkDotNet.Attributes;

namespace Ruler.Benchmarks;

/// <summary>
/// LayerNorm and RMSNorm forward/backward on rows, with a copy of the same bytes as the baseline, for people who
/// want BenchmarkDotNet's rigor. `ruler bench` measures the same kernels with ratios in one run.
/// </summary>
[MemoryDiagnoser]
public class RowNormBenchmarks
{
    private float[] _x = [], _y = [], _dy = [], _dx = [], _gamma = [], _beta = [], _dgamma = [], _dbeta = [];
    private double[] _mean = [], _rstd = [];
    private int[] _shape = [];
    private readonly RulerSpec _layerNorm = RulerSpec.LayerNorm();
    private readonly RulerSpec _rmsNorm = RulerSpec.RmsNorm(1, 1e-5);

    /// <summary>Rows × features.</summary>
    [Params("8192x1024", "65536x768", "4096x64")]
    public string Shape { get; set; } = "8192x1024";

    /// <summary>Allocates and fills the buffers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        int[] dims = Shape.Split('x').Select(int.Parse).ToArray();
        _shape = dims;
        int n = dims[0] * dims[1], d = dims[1];
        var random = new Random(1);
        float[] Fill(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        _x = Fill(n);
        _dy = Fill(n);
        _y = new float[n];
        _dx = new float[n];
        _gamma = Fill(d);
        _beta = Fill(d);
        _dgamma = new float[d];
        _dbeta = new float[d];
        _mean = new double[dims[0]];
        _rstd = new double[dims[0]];
        RulerOps.Forward<float>(_layerNorm, _x, _shape, _gamma, _beta, _y, _mean, _rstd);
    }

    /// <summary>The memory-speed baseline: x copied to y.</summary>
    [Benchmark(Baseline = true)]
    public void Copy() => _x.AsSpan().CopyTo(_y);

    /// <summary>LayerNorm forward with saved statistics.</summary>
    [Benchmark]
    public void LayerNormForward() => RulerOps.Forward<float>(_layerNorm, _x, _shape, _gamma, _beta, _y, _mean, _rstd);

    /// <summary>RMSNorm forward with saved statistics.</summary>
    [Benchmark]
    public void RmsNormForward() => RulerOps.Forward<float>(_rmsNorm, _x, _shape, _gamma, default, _y, _mean, _rstd);

    /// <summary>LayerNorm backward: dx, dγ, dβ.</summary>
    [Benchmark]
    public void LayerNormBackward() => RulerOps.Backward<float>(_layerNorm, _x, _shape, _mean, _rstd, _gamma, _dy, _dx, _dgamma, _dbeta);
}
