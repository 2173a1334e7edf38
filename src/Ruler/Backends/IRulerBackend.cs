namespace Ruler;

/// <summary>
/// Where the normalization kernels run: the seam between the public API (<see cref="RulerOps"/> and the modules) and
/// the kernels. The API resolves the ruler against the shape into a <see cref="RulerLayout"/>, checks every length
/// against it, and then calls one of these methods; a backend computes. <see cref="CpuBackend"/> is the only one so
/// far; a second (a GPU) implements these seven methods and passes the same fast-path-against-reference tests
/// (<c>tests/Ruler.Tests/FastPath*.cs</c> take the backend as theory data). docs/backends.md describes the contract.
/// </summary>
/// <remarks>
/// <para><b>Contract.</b> Every method takes a resolved layout and spans whose lengths the caller checked against it
/// (a backend handed a wrong one anyway must not read or write outside it: it throws instead, before touching
/// anything; the CPU's bounds check throws <see cref="InvalidOperationException"/>). Outputs are overwritten, never accumulated. Statistics are float64,
/// one per group (<see cref="RulerLayout.GroupCount"/>); γ, β and their gradients have
/// <see cref="RulerLayout.AffineSize"/> elements or are empty for none. Results must match the float64 reference
/// within the tolerances the tests state, and be the same bits for any thread count.</para>
/// <para><b>Memory.</b> The spans are the caller's (host memory); a backend that computes elsewhere copies in and out,
/// and owns whatever it keeps between calls. A call allocates nothing on the managed heap.</para>
/// <para><b>Threads.</b> A backend is shared by every module that uses it, so its methods are safe to call from any
/// number of threads at once (on buffers they do not share for writing).</para>
/// </remarks>
public interface IRulerBackend
{
    /// <summary>The backend's name, for messages and test names ("cpu").</summary>
    string Name { get; }

    /// <summary>The exact moments (count, mean, M2) of every group of x.</summary>
    void Moments<T>(RulerLayout layout, ReadOnlySpan<T> x, Span<GroupMoments> moments) where T : unmanaged;

    /// <summary>y = (x − mean)·rstd·γ + β with the statistics of x, which are written to mean and rstd. y may be x.</summary>
    void Forward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged;

    /// <summary>
    /// y = (x − mean)·rstd·γ + β with given statistics. <paramref name="measuredFromInput"/> says they were just
    /// measured from this x (a training forward that measured moments first), so a backend may refine the centre from
    /// x as <see cref="Forward{T}"/> does; false for constants (eval mode, running or merged statistics).
    /// </summary>
    void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, bool measuredFromInput) where T : unmanaged;

    /// <summary>dx, and dγ, dβ when not empty, of a normalization (see <see cref="RulerOps.Backward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{T}, bool)"/>).</summary>
    void Backward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool statisticsFromInput) where T : unmanaged;

    /// <summary>h = x + u; y = norm(h), writing h's statistics to mean and rstd. h may be x or u.</summary>
    void AddForward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged;

    /// <summary>dsum = dh + normᵀ(dy), the gradient of h = x + u (and so of x and u); dγ and dβ when not empty. dh may be empty.</summary>
    void AddBackward<T>(RulerLayout layout, ReadOnlySpan<T> h, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dsum, Span<T> dgamma, Span<T> dbeta) where T : unmanaged;
}
