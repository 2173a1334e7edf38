using Ruler.Internal;

namespace Ruler;

/// <summary>
/// A layer that can fill a normalization slot: the five normalizers and the normalization-free control (DyT).
/// Forward keeps what backward needs (llm.c style): call <see cref="Backward"/> with the same input after
/// <see cref="Forward"/>. Gradients of parameters are accumulated into <see cref="Parameter{T}.Grad"/>.
/// </summary>
/// <remarks>
/// <para><b>One caller at a time.</b> A module instance keeps state between calls (the statistics and a fingerprint
/// of the last forward's input, cached layouts, gradients), so, as in PyTorch, one instance serves one caller at a
/// time. A call that starts while another call on the same instance is running (on another thread) is refused with
/// an <see cref="InvalidOperationException"/> before it touches anything; it never corrupts memory or returns a
/// wrong answer. Separate instances may run on separate threads, and <see cref="RulerOps"/>, <see cref="RulerSpec"/>
/// and <see cref="DynamicTanhOps"/> are safe to share.</para>
/// <para><b>Backward checks its input.</b> Forward records x's shape and whether y overlapped x (an in-place forward
/// overwrites the input). Backward refuses, with an <see cref="ArgumentException"/> naming x, an input of another
/// shape or any input after an in-place forward; and when the forward's statistics came from x (training mode, or no
/// running statistics), it measures x again and refuses an x whose group statistics differ from the saved ones
/// (changed since the forward, or another tensor). Saved statistics that match x make the result the exact gradient
/// at x, so a gradient is never one of another input. Without saved statistics of x (eval mode with running
/// statistics, DyT) the backward is the exact gradient at the x it is given. The check costs one read of x per
/// Backward (see <see cref="VerifyBackwardInput"/>), nothing in Forward.</para>
/// </remarks>
/// <typeparam name="T">Element type: float, double, Half or <see cref="BFloat16"/>.</typeparam>
public abstract class Normalizer<T> where T : unmanaged
{
    private int _busy;
    private readonly InputFingerprint _input = new();

    private protected Normalizer() => Check.ElementType<T>();

    /// <summary>Training mode (batch statistics, running statistics updated) or eval mode. Default true, like PyTorch.</summary>
    public bool Training { get; set; } = true;

    /// <summary>The learnable parameters (empty when the layer has none).</summary>
    public abstract IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>y = layer(x) for a contiguous tensor of the given shape; y may be x (in place), but then <see cref="Backward"/> is refused.</summary>
    /// <param name="x">The input, contiguous row-major.</param>
    /// <param name="shape">Its shape, e.g. (N, C, H, W) or (batch, tokens, D).</param>
    /// <param name="y">Receives the output, as long as x.</param>
    /// <exception cref="ArgumentException">A shape or length is invalid (nothing is written).</exception>
    /// <exception cref="InvalidOperationException">Another call on this instance is running (see the remarks).</exception>
    public void Forward(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, Span<T> y)
    {
        Enter(nameof(Forward));
        try
        {
            // If the forward throws, no Backward may pair with this input.
            _input.Record(x.Length, shape, overwritten: x.Overlaps(y));
            try
            {
                ForwardCore(x, shape, y);
            }
            catch
            {
                _input.Clear();
                throw;
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>dx from dy, for the input of the last <see cref="Forward"/>; accumulates parameter gradients.</summary>
    /// <param name="x">The input of the last forward (the same values; a copy is accepted).</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="dy">Gradient of the output.</param>
    /// <param name="dx">Receives the gradient of x (overwritten); parameter gradients are added to <see cref="Parameter{T}.Grad"/>.</param>
    /// <exception cref="ArgumentException">
    /// A length is invalid, or <paramref name="x"/> is not the input of the last forward (another shape, other values, or
    /// overwritten by an in-place forward); nothing is written.
    /// </exception>
    /// <exception cref="InvalidOperationException">No forward ran first, or another call on this instance is running.</exception>
    public void Backward(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<T> dy, Span<T> dx)
    {
        Enter(nameof(Backward));
        try
        {
            _input.Verify(x.Length, shape);
            BackwardCore(x, shape, dy, dx);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Whether Backward checks that x still has the statistics the forward saved (default true): one extra read of x
    /// per Backward, and only when the forward's statistics came from its input. Set false only when every Backward
    /// is sure to get the unchanged forward input; the shape and in-place checks stay on.
    /// </summary>
    public bool VerifyBackwardInput { get; set; } = true;

    /// <summary>The forward proper, run while this instance is held.</summary>
    private protected abstract void ForwardCore(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, Span<T> y);

    /// <summary>The backward proper, run while this instance is held, for the verified input of the last forward.</summary>
    private protected abstract void BackwardCore(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<T> dy, Span<T> dx);

    /// <summary>
    /// The module's state under PyTorch's <c>state_dict()</c> names, as copies: <c>weight</c> and <c>bias</c> (where
    /// the layer has them; DyT also <c>alpha</c>) and, for a BatchNorm or InstanceNorm that tracks running statistics,
    /// <c>running_mean</c>, <c>running_var</c> (<c>T[]</c>) and <c>num_batches_tracked</c> (a <c>long[]</c> of one
    /// element, the count the cumulative average (momentum null) divides by). <see cref="LoadStateDict"/> restores it
    /// exactly, so training resumes with the same bits.
    /// </summary>
    /// <returns>A new dictionary from name to a copy of the values.</returns>
    public Dictionary<string, Array> StateDict() => ModuleState.Export(Parameters, StateRunning);

    /// <summary>
    /// Loads a state exported by <see cref="StateDict"/> (or built by hand with the same names, types and lengths):
    /// every key of this module must be present and no other (PyTorch's <c>strict=True</c>). Everything is checked
    /// before anything is written. Gradients and <see cref="Training"/> are left as they are.
    /// </summary>
    /// <param name="state">Name → values: <c>T[]</c> of the parameter's length, and <c>long[1]</c> for <c>num_batches_tracked</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException">A key is missing or unexpected, or a value has the wrong type or length (nothing is loaded).</exception>
    /// <exception cref="InvalidOperationException">Another call on this instance is running.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Array> state)
    {
        Enter(nameof(LoadStateDict));
        try
        {
            ModuleState.Import(Internal.AffineState.ModuleName(GetType()), state, Parameters, StateRunning);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>The running statistics that belong to the state, if any.</summary>
    private protected virtual RunningStatistics<T>? StateRunning => null;

    /// <summary>Zeroes every parameter gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    /// <summary>Takes this instance for one call, or refuses when another call holds it (one compare-exchange).</summary>
    private void Enter(string method)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            throw new InvalidOperationException(
                $"{Internal.AffineState.ModuleName(GetType())}.{method}: another call on this instance is running. A module instance serves one caller at a time; " +
                "use one instance per thread (RulerOps and RulerSpec may be shared).");
    }

    private void Exit() => Volatile.Write(ref _busy, 0);

    private protected static T[] Filled(int length, double value)
    {
        var a = new T[length];
        Array.Fill(a, Num.FromDouble<T>(value));
        return a;
    }

    private protected static void Accumulate(T[] into, ReadOnlySpan<T> add) => GradientAccumulation.Add<T>(into, add);
}
