using System.Numerics.Tensors;
using Ruler.Tensors;

namespace Ruler;

/// <summary>
/// <see cref="RulerOps"/> for .NET's tensor types: the data tensors (x, u, h, y, dy, dh, dx, dsum) are
/// <see cref="ReadOnlyTensorSpan{T}"/>/<see cref="TensorSpan{T}"/> whose lengths give the shape; γ, β and the saved
/// statistics stay flat spans (<see cref="RulerLayout.AffineSize"/> and <see cref="RulerLayout.GroupCount"/> elements,
/// as in <see cref="RulerOps"/>). Dense row-major tensors are used in place, without copies; any other view is refused
/// with an <see cref="ArgumentException"/> naming it (see <see cref="TensorExtensions"/>, which also explains the
/// tensor types' former <c>[Experimental]</c> status). Every rule of <see cref="RulerOps"/> holds: backward functions
/// <b>overwrite</b> their outputs, everything is validated before anything is written, and the class is thread-safe.
/// </summary>
/// <remarks>
/// A <see cref="Tensor{T}"/> converts implicitly to both span types, but C# does not infer <c>T</c> through that
/// conversion: pass γ as an array or span (which does infer it), or name the type, e.g.
/// <c>RulerTensorOps.Forward&lt;float&gt;(ruler, x, gamma, beta, y, mean, rstd)</c>.
/// </remarks>
public static class RulerTensorOps
{
    /// <summary>The exact moments of every group; see <see cref="RulerOps.Moments{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, Span{GroupMoments})"/>.</summary>
    /// <param name="ruler">Which numbers share a ruler.</param>
    /// <param name="x">A dense row-major tensor.</param>
    /// <param name="moments">Receives one entry per group.</param>
    /// <typeparam name="T">Element type.</typeparam>
    /// <exception cref="ArgumentException">x is not dense row-major, or a length is invalid.</exception>
    public static void Moments<T>(RulerSpec ruler, ReadOnlyTensorSpan<T> x, Span<GroupMoments> moments) where T : unmanaged
    {
        var xs = DenseTensor.Elements(x, nameof(x));
        Span<int> shape = x.Rank <= DenseTensor.StackRank ? stackalloc int[x.Rank] : new int[x.Rank];
        DenseTensor.Shape(x.Lengths, shape, nameof(x));
        RulerOps.Moments(ruler, xs, shape, moments);
    }

    /// <summary>y = (x − mean)·rstd·γ + β with statistics measured from x, saved for the backward; see <see cref="RulerOps.Forward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{double}, Span{double})"/>.</summary>
    /// <param name="ruler">Which numbers share a ruler.</param>
    /// <param name="x">A dense row-major tensor.</param>
    /// <param name="gamma">γ, or empty for none.</param>
    /// <param name="beta">β, or empty for none.</param>
    /// <param name="y">Receives the output, with the lengths of x (may be x).</param>
    /// <param name="mean">Receives the mean of each group.</param>
    /// <param name="rstd">Receives 1/√(var + eps) of each group.</param>
    /// <typeparam name="T">Element type.</typeparam>
    /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or a length is invalid (nothing is written).</exception>
    public static void Forward<T>(RulerSpec ruler, ReadOnlyTensorSpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, TensorSpan<T> y,
        Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        var xs = DenseTensor.Elements(x, nameof(x));
        var ys = DenseTensor.Elements(y, nameof(y));
        DenseTensor.SameLengths(y.Lengths, x.Lengths, nameof(y), nameof(x));
        Span<int> shape = x.Rank <= DenseTensor.StackRank ? stackalloc int[x.Rank] : new int[x.Rank];
        DenseTensor.Shape(x.Lengths, shape, nameof(x));
        RulerOps.Forward(ruler, xs, shape, gamma, beta, ys, mean, rstd);
    }

    /// <summary>y = (x − mean)·rstd·γ + β with given statistics; see <see cref="RulerOps.Normalize{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>.</summary>
    /// <param name="ruler">Which numbers share a ruler.</param>
    /// <param name="x">A dense row-major tensor.</param>
    /// <param name="mean">The mean of each group.</param>
    /// <param name="rstd">1/√(var + eps) of each group.</param>
    /// <param name="gamma">γ, or empty for none.</param>
    /// <param name="beta">β, or empty for none.</param>
    /// <param name="y">Receives the output, with the lengths of x (may be x).</param>
    /// <typeparam name="T">Element type.</typeparam>
    /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or a length is invalid (nothing is written).</exception>
    public static void Normalize<T>(RulerSpec ruler, ReadOnlyTensorSpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, TensorSpan<T> y) where T : unmanaged
    {
        var xs = DenseTensor.Elements(x, nameof(x));
        var ys = DenseTensor.Elements(y, nameof(y));
        DenseTensor.SameLengths(y.Lengths, x.Lengths, nameof(y), nameof(x));
        Span<int> shape = x.Rank <= DenseTensor.StackRank ? stackalloc int[x.Rank] : new int[x.Rank];
        DenseTensor.Shape(x.Lengths, shape, nameof(x));
        RulerOps.Normalize(ruler, xs, shape, mean, rstd, gamma, beta, ys);
    }

    /// <summary>Gradients of a normalization; <b>overwrites</b> dx, dγ and dβ. See <see cref="RulerOps.Backward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{T}, bool)"/>.</summary>
    /// <param name="ruler">The ruler of the forward.</param>
    /// <param name="x">The forward's input, dense row-major.</param>
    /// <param name="mean">The forward's saved means.</param>
    /// <param name="rstd">The forward's saved 1/√(var + eps).</param>
    /// <param name="gamma">γ, or empty for none.</param>
    /// <param name="dy">Gradient of the output, with the lengths of x.</param>
    /// <param name="dx">Receives the gradient of x (overwritten), with the lengths of x.</param>
    /// <param name="dgammaOut">dγ (overwritten), or empty to skip it.</param>
    /// <param name="dbetaOut">dβ (overwritten), or empty to skip it.</param>
    /// <param name="statisticsFromInput">Whether mean and rstd were measured from x (training) or constants (eval).</param>
    /// <typeparam name="T">Element type.</typeparam>
    /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or a length is invalid (nothing is written).</exception>
    public static void Backward<T>(RulerSpec ruler, ReadOnlyTensorSpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlyTensorSpan<T> dy, TensorSpan<T> dx, Span<T> dgammaOut, Span<T> dbetaOut, bool statisticsFromInput = true)
        where T : unmanaged
    {
        var xs = DenseTensor.Elements(x, nameof(x));
        var dys = DenseTensor.Elements(dy, nameof(dy));
        var dxs = DenseTensor.Elements(dx, nameof(dx));
        DenseTensor.SameLengths(dy.Lengths, x.Lengths, nameof(dy), nameof(x));
        DenseTensor.SameLengths(dx.Lengths, x.Lengths, nameof(dx), nameof(x));
        Span<int> shape = x.Rank <= DenseTensor.StackRank ? stackalloc int[x.Rank] : new int[x.Rank];
        DenseTensor.Shape(x.Lengths, shape, nameof(x));
        RulerOps.Backward(ruler, xs, shape, mean, rstd, gamma, dys, dxs, dgammaOut, dbetaOut, statisticsFromInput);
    }

    /// <summary>Fused residual add + norm: h = x + u; y = norm(h); see <see cref="RulerOps.AddForward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{double}, Span{double})"/>.</summary>
    /// <param name="ruler">Which numbers share a ruler.</param>
    /// <param name="x">The residual stream, dense row-major.</param>
    /// <param name="u">What the sublayer adds, with the lengths of x.</param>
    /// <param name="gamma">γ, or empty for none.</param>
    /// <param name="beta">β, or empty for none.</param>
    /// <param name="h">Receives x + u, with the lengths of x.</param>
    /// <param name="y">Receives norm(h), with the lengths of x.</param>
    /// <param name="mean">Receives the mean of each group of h.</param>
    /// <param name="rstd">Receives 1/√(var + eps) of each group of h.</param>
    /// <typeparam name="T">Element type.</typeparam>
    /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or a length is invalid (nothing is written).</exception>
    public static void AddForward<T>(RulerSpec ruler, ReadOnlyTensorSpan<T> x, ReadOnlyTensorSpan<T> u, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        TensorSpan<T> h, TensorSpan<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        var xs = DenseTensor.Elements(x, nameof(x));
        var us = DenseTensor.Elements(u, nameof(u));
        var hs = DenseTensor.Elements(h, nameof(h));
        var ys = DenseTensor.Elements(y, nameof(y));
        DenseTensor.SameLengths(u.Lengths, x.Lengths, nameof(u), nameof(x));
        DenseTensor.SameLengths(h.Lengths, x.Lengths, nameof(h), nameof(x));
        DenseTensor.SameLengths(y.Lengths, x.Lengths, nameof(y), nameof(x));
        Span<int> shape = x.Rank <= DenseTensor.StackRank ? stackalloc int[x.Rank] : new int[x.Rank];
        DenseTensor.Shape(x.Lengths, shape, nameof(x));
        RulerOps.AddForward(ruler, xs, us, shape, gamma, beta, hs, ys, mean, rstd);
    }

    /// <summary>Backward of <see cref="AddForward{T}"/> with no gradient reaching h directly; <b>overwrites</b> dsum, dγ and dβ. See <see cref="RulerOps.AddBackward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{T})"/>.</summary>
    /// <param name="ruler">The ruler of the forward.</param>
    /// <param name="h">The h the forward returned, dense row-major.</param>
    /// <param name="mean">The forward's saved means.</param>
    /// <param name="rstd">The forward's saved 1/√(var + eps).</param>
    /// <param name="gamma">γ, or empty for none.</param>
    /// <param name="dy">Gradient of y, with the lengths of h.</param>
    /// <param name="dsum">Receives the gradient of h, x and u (overwritten), with the lengths of h.</param>
    /// <param name="dgammaOut">dγ (overwritten), or empty to skip it.</param>
    /// <param name="dbetaOut">dβ (overwritten), or empty to skip it.</param>
    /// <typeparam name="T">Element type.</typeparam>
    /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or a length is invalid (nothing is written).</exception>
    public static void AddBackward<T>(RulerSpec ruler, ReadOnlyTensorSpan<T> h, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlyTensorSpan<T> dy, TensorSpan<T> dsum, Span<T> dgammaOut, Span<T> dbetaOut) where T : unmanaged
    {
        var hs = DenseTensor.Elements(h, nameof(h));
        var dys = DenseTensor.Elements(dy, nameof(dy));
        var dsums = DenseTensor.Elements(dsum, nameof(dsum));
        DenseTensor.SameLengths(dy.Lengths, h.Lengths, nameof(dy), nameof(h));
        DenseTensor.SameLengths(dsum.Lengths, h.Lengths, nameof(dsum), nameof(h));
        Span<int> shape = h.Rank <= DenseTensor.StackRank ? stackalloc int[h.Rank] : new int[h.Rank];
        DenseTensor.Shape(h.Lengths, shape, nameof(h));
        RulerOps.AddBackward(ruler, hs, shape, mean, rstd, gamma, dys, default, dsums, dgammaOut, dbetaOut);
    }

    /// <summary>Backward of <see cref="AddForward{T}"/>: dsum = dh + normᵀ(dy); <b>overwrites</b> dsum, dγ and dβ. See <see cref="RulerOps.AddBackward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{T})"/>.</summary>
    /// <param name="ruler">The ruler of the forward.</param>
    /// <param name="h">The h the forward returned, dense row-major.</param>
    /// <param name="mean">The forward's saved means.</param>
    /// <param name="rstd">The forward's saved 1/√(var + eps).</param>
    /// <param name="gamma">γ, or empty for none.</param>
    /// <param name="dy">Gradient of y, with the lengths of h.</param>
    /// <param name="dh">Gradient reaching h directly, with the lengths of h.</param>
    /// <param name="dsum">Receives the gradient of h, x and u (overwritten), with the lengths of h.</param>
    /// <param name="dgammaOut">dγ (overwritten), or empty to skip it.</param>
    /// <param name="dbetaOut">dβ (overwritten), or empty to skip it.</param>
    /// <typeparam name="T">Element type.</typeparam>
    /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or a length is invalid (nothing is written).</exception>
    public static void AddBackward<T>(RulerSpec ruler, ReadOnlyTensorSpan<T> h, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlyTensorSpan<T> dy, ReadOnlyTensorSpan<T> dh, TensorSpan<T> dsum, Span<T> dgammaOut, Span<T> dbetaOut)
        where T : unmanaged
    {
        var hs = DenseTensor.Elements(h, nameof(h));
        var dys = DenseTensor.Elements(dy, nameof(dy));
        var dhs = DenseTensor.Elements(dh, nameof(dh));
        var dsums = DenseTensor.Elements(dsum, nameof(dsum));
        DenseTensor.SameLengths(dy.Lengths, h.Lengths, nameof(dy), nameof(h));
        DenseTensor.SameLengths(dh.Lengths, h.Lengths, nameof(dh), nameof(h));
        DenseTensor.SameLengths(dsum.Lengths, h.Lengths, nameof(dsum), nameof(h));
        Span<int> shape = h.Rank <= DenseTensor.StackRank ? stackalloc int[h.Rank] : new int[h.Rank];
        DenseTensor.Shape(h.Lengths, shape, nameof(h));
        RulerOps.AddBackward(ruler, hs, shape, mean, rstd, gamma, dys, dhs, dsums, dgammaOut, dbetaOut);
    }
}
