namespace Ruler.Tests;

/// <summary>
/// The seam between the public API and the kernels: RulerOps' backend overloads and the modules' Backend property
/// send every op to the backend they are given (a counting backend that forwards to the CPU sees each call, and the
/// results are the CPU's bits); a backend refuses a span of the wrong length instead of touching memory past it.
/// </summary>
public class BackendSeamTests
{
    public static TheoryData<string> Backends => TestBackends.Names();

    [Fact]
    public void RulerOpsOverloadsCallTheGivenBackendOncePerOp()
    {
        var counting = new CountingBackend();
        var ruler = RulerSpec.LayerNorm();
        int[] shape = [4, 8];
        var x = R(32, 1);
        var dy = R(32, 2);
        double[] y = new double[32], h = new double[32], dx = new double[32], mean = new double[4], rstd = new double[4];
        var moments = new GroupMoments[4];
        RulerOps.Moments<double>(counting, ruler, x, shape, moments);
        RulerOps.Forward<double>(counting, ruler, x, shape, [], [], y, mean, rstd);
        RulerOps.Normalize<double>(counting, ruler, x, shape, mean, rstd, [], [], y);
        RulerOps.Backward<double>(counting, ruler, x, shape, mean, rstd, [], dy, dx, [], []);
        RulerOps.AddForward<double>(counting, ruler, x, dy, shape, [], [], h, y, mean, rstd);
        RulerOps.AddBackward<double>(counting, ruler, h, shape, mean, rstd, [], dy, [], dx, [], []);
        Assert.Equal("Moments Forward Normalize(False) Backward AddForward AddBackward", string.Join(" ", counting.Calls));
        Assert.Throws<ArgumentNullException>(() => RulerOps.Forward<double>(null!, ruler, x, shape, [], [], y, mean, rstd));
    }

    [Fact]
    public void ModulesRunOnTheirBackendAndGiveTheCpuBits()
    {
        int[] shape = [2, 3, 4, 4];
        var x = R(96, 3);
        var dy = R(96, 4);
        foreach (var info in Normalizers.All)
        {
            var onCpu = info.ForImages<double>(3, 4, 4, groups: 3);
            var counted = info.ForImages<double>(3, 4, 4, groups: 3);
            var counting = new CountingBackend();
            counted.Backend = counting;
            double[] y1 = new double[96], y2 = new double[96], dx1 = new double[96], dx2 = new double[96];
            onCpu.Forward(x, shape, y1);
            onCpu.Backward(x, shape, dy, dx1);
            counted.Forward(x, shape, y2);
            counted.Backward(x, shape, dy, dx2);
            Assert.Equal(y1, y2);
            Assert.Equal(dx1, dx2);
            Assert.Contains("Backward", counting.Calls);
            Assert.True(counting.Calls.Count >= 2, $"{info.Name}: {string.Join(" ", counting.Calls)}");
        }
        var add = new AddLayerNorm<double>([8]) { Backend = new CountingBackend() };
        double[] u = R(32, 5), hh = new double[32], yy = new double[32], ds = new double[32];
        var xx = R(32, 6);
        add.Forward(xx, u, [4, 8], hh, yy);
        add.Backward(hh, [4, 8], u, [], ds);
        Assert.Equal("AddForward AddBackward", string.Join(" ", ((CountingBackend)add.Backend).Calls));
        var e = Assert.Throws<ArgumentNullException>(() => add.Backend = null!);
        Assert.Equal("value", e.ParamName);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ABackendRefusesASpanOfTheWrongLengthAndWritesNothing(string backend)
    {
        var b = TestBackends.Get(backend);
        var layout = RulerSpec.LayerNorm().Resolve([4, 8]);
        var x = R(32, 7);
        var y = new double[31];
        double[] mean = new double[4], rstd = new double[4];
        // The API refuses first with an ArgumentException; a backend handed a bad span directly refuses too (the CPU's
        // bounds check throws InvalidOperationException, since only a race or a caller bypassing RulerOps gets there).
        var e = Record.Exception(() => b.Forward<double>(layout, x, [], [], y, mean, rstd));
        Assert.True(e is ArgumentException or InvalidOperationException, $"{backend}: {e?.GetType().Name ?? "no exception"}");
        Assert.Contains("y has length 31", e!.Message);
        Assert.All(y, v => Assert.Equal(0.0, v));
        Assert.All(mean, v => Assert.Equal(0.0, v));
    }

    private static double[] R(int n, int seed) => Support.TestData.Uniform(new Random(seed), n);

    /// <summary>Forwards to the CPU and records the name of each call.</summary>
    private sealed class CountingBackend : IRulerBackend
    {
        private readonly IRulerBackend _inner = CpuBackend.Instance;

        public List<string> Calls { get; } = [];

        public string Name => "counting";

        public void Moments<T>(RulerLayout layout, ReadOnlySpan<T> x, Span<GroupMoments> moments) where T : unmanaged
        {
            Calls.Add("Moments");
            _inner.Moments(layout, x, moments);
        }

        public void Forward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y,
            Span<double> mean, Span<double> rstd) where T : unmanaged
        {
            Calls.Add("Forward");
            _inner.Forward(layout, x, gamma, beta, y, mean, rstd);
        }

        public void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
            ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, bool measuredFromInput) where T : unmanaged
        {
            Calls.Add($"Normalize({measuredFromInput})");
            _inner.Normalize(layout, x, mean, rstd, gamma, beta, y, measuredFromInput);
        }

        public void Backward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
            ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool statisticsFromInput) where T : unmanaged
        {
            Calls.Add("Backward");
            _inner.Backward(layout, x, mean, rstd, gamma, dy, dx, dgamma, dbeta, statisticsFromInput);
        }

        public void AddForward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
            Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
        {
            Calls.Add("AddForward");
            _inner.AddForward(layout, x, u, gamma, beta, h, y, mean, rstd);
        }

        public void AddBackward<T>(RulerLayout layout, ReadOnlySpan<T> h, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
            ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dsum, Span<T> dgamma, Span<T> dbeta) where T : unmanaged
        {
            Calls.Add("AddBackward");
            _inner.AddBackward(layout, h, mean, rstd, gamma, dy, dh, dsum, dgamma, dbeta);
        }
    }
}
