using System.Numerics.Tensors;
using Ruler.Tensors;

namespace Ruler;

/// <summary>
/// The modules' <c>Forward</c>/<c>Backward</c> for .NET's tensor types (<see cref="Tensor{T}"/>,
/// <see cref="TensorSpan{T}"/>, <see cref="ReadOnlyTensorSpan{T}"/> from System.Numerics.Tensors): the shape comes
/// from the tensor's lengths, and a dense row-major tensor is read and written in place, without a copy. A
/// <see cref="Tensor{T}"/> converts implicitly to both span types, so it can be passed directly.
/// </summary>
/// <remarks>
/// <para><b>Views.</b> A tensor whose strides are not the row-major ones for its lengths (a transposed or permuted
/// view, a slice with gaps, a broadcast dimension of stride 0) is refused with an <see cref="ArgumentException"/>
/// naming the argument and giving the expected and actual strides; nothing is written. Copy such a view into a dense
/// tensor first. Every other rule of the span API holds (same shapes, in-place forward, one caller per instance).</para>
/// <para><b>[Experimental] status.</b> System.Numerics.Tensors 9.0 shipped these types as <c>[Experimental]</c>
/// (diagnostic SYSLIB5001); from 10.0 on they are stable. Ruler depends on System.Numerics.Tensors 10.0 or later, so
/// a project using these overloads gets no SYSLIB5001 and needs no suppression; these overloads are not marked
/// experimental themselves. A project that pins System.Numerics.Tensors 9.x is moved to 10.0 by NuGet (or reports
/// NU1605, a downgrade, until it references 10.0 or later).</para>
/// <para>The overloads returning a new <see cref="Tensor{T}"/> allocate it on every call (as PyTorch's <c>y = ln(x)</c>
/// does); the overloads writing into a given <see cref="TensorSpan{T}"/> allocate nothing for ranks up to 16.</para>
/// </remarks>
public static class TensorExtensions
{
    /// <param name="module">The normalizer (or DyT) to run.</param>
    /// <typeparam name="T">Element type.</typeparam>
    extension<T>(Normalizer<T> module) where T : unmanaged
    {
        /// <summary>y = layer(x), shape from <paramref name="x"/>; see <see cref="Normalizer{T}.Forward"/>.</summary>
        /// <param name="x">A dense row-major tensor.</param>
        /// <param name="y">A dense row-major tensor with the lengths of x (may be x: in place, then Backward is refused).</param>
        /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or the shape is invalid for the layer (nothing is written).</exception>
        /// <exception cref="InvalidOperationException">Another call on this instance is running.</exception>
        public void Forward(ReadOnlyTensorSpan<T> x, TensorSpan<T> y)
        {
            ArgumentNullException.ThrowIfNull(module);
            var xs = DenseTensor.Elements(x, nameof(x));
            var ys = DenseTensor.Elements(y, nameof(y));
            DenseTensor.SameLengths(y.Lengths, x.Lengths, nameof(y), nameof(x));
            Span<int> shape = x.Rank <= DenseTensor.StackRank ? stackalloc int[x.Rank] : new int[x.Rank];
            DenseTensor.Shape(x.Lengths, shape, nameof(x));
            module.Forward(xs, shape, ys);
        }

        /// <summary>y = layer(x) into a new tensor of x's lengths (allocates it).</summary>
        /// <param name="x">A dense row-major tensor.</param>
        /// <returns>The new output tensor.</returns>
        /// <exception cref="ArgumentException">x is not dense row-major, or its shape is invalid for the layer.</exception>
        /// <exception cref="InvalidOperationException">Another call on this instance is running.</exception>
        public Tensor<T> Forward(ReadOnlyTensorSpan<T> x)
        {
            var y = Tensor.CreateFromShape<T>(x.Lengths);
            module.Forward(x, y.AsTensorSpan());
            return y;
        }

        /// <summary>dx from dy for the input of the last forward; accumulates parameter gradients. See <see cref="Normalizer{T}.Backward"/>.</summary>
        /// <param name="x">The input of the last forward, dense row-major.</param>
        /// <param name="dy">Gradient of y, with the lengths of x.</param>
        /// <param name="dx">Receives the gradient of x (overwritten), with the lengths of x.</param>
        /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or x is not the input of the last forward (nothing is written).</exception>
        /// <exception cref="InvalidOperationException">No forward ran first, or another call on this instance is running.</exception>
        public void Backward(ReadOnlyTensorSpan<T> x, ReadOnlyTensorSpan<T> dy, TensorSpan<T> dx)
        {
            ArgumentNullException.ThrowIfNull(module);
            var xs = DenseTensor.Elements(x, nameof(x));
            var dys = DenseTensor.Elements(dy, nameof(dy));
            var dxs = DenseTensor.Elements(dx, nameof(dx));
            DenseTensor.SameLengths(dy.Lengths, x.Lengths, nameof(dy), nameof(x));
            DenseTensor.SameLengths(dx.Lengths, x.Lengths, nameof(dx), nameof(x));
            Span<int> shape = x.Rank <= DenseTensor.StackRank ? stackalloc int[x.Rank] : new int[x.Rank];
            DenseTensor.Shape(x.Lengths, shape, nameof(x));
            module.Backward(xs, shape, dys, dxs);
        }

        /// <summary>dx into a new tensor of x's lengths (allocates it); accumulates parameter gradients.</summary>
        /// <param name="x">The input of the last forward, dense row-major.</param>
        /// <param name="dy">Gradient of y, with the lengths of x.</param>
        /// <returns>The gradient of x.</returns>
        /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or x is not the input of the last forward.</exception>
        /// <exception cref="InvalidOperationException">No forward ran first, or another call on this instance is running.</exception>
        public Tensor<T> Backward(ReadOnlyTensorSpan<T> x, ReadOnlyTensorSpan<T> dy)
        {
            var dx = Tensor.CreateFromShape<T>(x.Lengths);
            module.Backward(x, dy, dx.AsTensorSpan());
            return dx;
        }
    }

    /// <param name="module">The fused residual add + norm to run.</param>
    /// <typeparam name="T">Element type.</typeparam>
    extension<T>(AddNormalizer<T> module) where T : unmanaged
    {
        /// <summary>h = x + u; y = norm(h), shape from <paramref name="x"/>; see <see cref="AddNormalizer{T}.Forward"/>.</summary>
        /// <param name="x">The residual stream, dense row-major.</param>
        /// <param name="u">What the sublayer adds, with the lengths of x.</param>
        /// <param name="h">Receives x + u, with the lengths of x (may be x or u).</param>
        /// <param name="y">Receives norm(h), with the lengths of x.</param>
        /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or the shape is invalid (nothing is written).</exception>
        /// <exception cref="InvalidOperationException">Another call on this instance is running.</exception>
        public void Forward(ReadOnlyTensorSpan<T> x, ReadOnlyTensorSpan<T> u, TensorSpan<T> h, TensorSpan<T> y)
        {
            ArgumentNullException.ThrowIfNull(module);
            var xs = DenseTensor.Elements(x, nameof(x));
            var us = DenseTensor.Elements(u, nameof(u));
            var hs = DenseTensor.Elements(h, nameof(h));
            var ys = DenseTensor.Elements(y, nameof(y));
            DenseTensor.SameLengths(u.Lengths, x.Lengths, nameof(u), nameof(x));
            DenseTensor.SameLengths(h.Lengths, x.Lengths, nameof(h), nameof(x));
            DenseTensor.SameLengths(y.Lengths, x.Lengths, nameof(y), nameof(x));
            Span<int> shape = x.Rank <= DenseTensor.StackRank ? stackalloc int[x.Rank] : new int[x.Rank];
            DenseTensor.Shape(x.Lengths, shape, nameof(x));
            module.Forward(xs, us, shape, hs, ys);
        }

        /// <summary>dsum = normᵀ(dy), the gradient of h, x and u; accumulates dγ and dβ. See <see cref="AddNormalizer{T}.Backward"/>.</summary>
        /// <param name="h">The h the last forward wrote, dense row-major.</param>
        /// <param name="dy">Gradient of y, with the lengths of h.</param>
        /// <param name="dsum">Receives the gradient of h, x and u (overwritten), with the lengths of h.</param>
        /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or h is not the h of the last forward (nothing is written).</exception>
        /// <exception cref="InvalidOperationException">No forward ran first, or another call on this instance is running.</exception>
        public void Backward(ReadOnlyTensorSpan<T> h, ReadOnlyTensorSpan<T> dy, TensorSpan<T> dsum)
        {
            ArgumentNullException.ThrowIfNull(module);
            var hs = DenseTensor.Elements(h, nameof(h));
            var dys = DenseTensor.Elements(dy, nameof(dy));
            var dsums = DenseTensor.Elements(dsum, nameof(dsum));
            DenseTensor.SameLengths(dy.Lengths, h.Lengths, nameof(dy), nameof(h));
            DenseTensor.SameLengths(dsum.Lengths, h.Lengths, nameof(dsum), nameof(h));
            Span<int> shape = h.Rank <= DenseTensor.StackRank ? stackalloc int[h.Rank] : new int[h.Rank];
            DenseTensor.Shape(h.Lengths, shape, nameof(h));
            module.Backward(hs, shape, dys, default, dsums);
        }

        /// <summary>dsum = dh + normᵀ(dy), the gradient of h, x and u; accumulates dγ and dβ. See <see cref="AddNormalizer{T}.Backward"/>.</summary>
        /// <param name="h">The h the last forward wrote, dense row-major.</param>
        /// <param name="dy">Gradient of y, with the lengths of h.</param>
        /// <param name="dh">Gradient reaching h along the residual path, with the lengths of h.</param>
        /// <param name="dsum">Receives the gradient of h, x and u (overwritten), with the lengths of h.</param>
        /// <exception cref="ArgumentException">A view is not dense row-major, the lengths differ, or h is not the h of the last forward (nothing is written).</exception>
        /// <exception cref="InvalidOperationException">No forward ran first, or another call on this instance is running.</exception>
        public void Backward(ReadOnlyTensorSpan<T> h, ReadOnlyTensorSpan<T> dy, ReadOnlyTensorSpan<T> dh, TensorSpan<T> dsum)
        {
            ArgumentNullException.ThrowIfNull(module);
            var hs = DenseTensor.Elements(h, nameof(h));
            var dys = DenseTensor.Elements(dy, nameof(dy));
            var dhs = DenseTensor.Elements(dh, nameof(dh));
            var dsums = DenseTensor.Elements(dsum, nameof(dsum));
            DenseTensor.SameLengths(dy.Lengths, h.Lengths, nameof(dy), nameof(h));
            DenseTensor.SameLengths(dh.Lengths, h.Lengths, nameof(dh), nameof(h));
            DenseTensor.SameLengths(dsum.Lengths, h.Lengths, nameof(dsum), nameof(h));
            Span<int> shape = h.Rank <= DenseTensor.StackRank ? stackalloc int[h.Rank] : new int[h.Rank];
            DenseTensor.Shape(h.Lengths, shape, nameof(h));
            module.Backward(hs, shape, dys, dhs, dsums);
        }
    }
}
