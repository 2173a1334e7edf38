using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Ruler.Internal;

namespace Ruler.Tensors;

/// <summary>
/// The elements of a <see cref="TensorSpan{T}"/> or <see cref="ReadOnlyTensorSpan{T}"/> as a flat span, without a
/// copy, when the view is dense and row-major (what the span API expects); any other view (transposed, sliced with
/// gaps, broadcast with stride 0) is refused with an <see cref="ArgumentException"/> naming the argument, never read
/// in the wrong order.
/// </summary>
internal static class DenseTensor
{
    /// <summary>Ranks up to this many take their <c>int</c> shape from the stack; larger ones allocate it.</summary>
    public const int StackRank = 16;

    public static ReadOnlySpan<T> Elements<T>(in ReadOnlyTensorSpan<T> tensor, string argument)
    {
        int count = CheckRowMajor(tensor.Lengths, tensor.Strides, tensor.FlattenedLength, argument);
        return count == 0 ? default : MemoryMarshal.CreateReadOnlySpan(in tensor.GetPinnableReference(), count);
    }

    public static Span<T> Elements<T>(in TensorSpan<T> tensor, string argument)
    {
        int count = CheckRowMajor(tensor.Lengths, tensor.Strides, tensor.FlattenedLength, argument);
        return count == 0 ? default : MemoryMarshal.CreateSpan(ref tensor.GetPinnableReference(), count);
    }

    /// <summary>Writes the lengths as <c>int</c> dimensions into <paramref name="shape"/> (of the tensor's rank).</summary>
    public static void Shape(ReadOnlySpan<nint> lengths, Span<int> shape, string argument)
    {
        for (int i = 0; i < lengths.Length; i++)
        {
            if (lengths[i] > int.MaxValue)
                throw Check.Fail(argument, $"dimensions of at most {int.MaxValue}", $"lengths {Text(lengths)}");
            shape[i] = (int)lengths[i];
        }
    }

    /// <summary>Refuses <paramref name="argument"/> unless its lengths are those of <paramref name="reference"/>.</summary>
    public static void SameLengths(ReadOnlySpan<nint> lengths, ReadOnlySpan<nint> referenceLengths, string argument, string reference)
    {
        if (!lengths.SequenceEqual(referenceLengths))
            throw Check.Fail(argument, $"the lengths of {reference}, {Text(referenceLengths)}", Text(lengths));
    }

    private static int CheckRowMajor(ReadOnlySpan<nint> lengths, ReadOnlySpan<nint> strides, nint flattened, string argument)
    {
        if (flattened > Array.MaxLength)
            throw Check.Fail(argument, $"at most {Array.MaxLength} elements", $"{flattened} (lengths {Text(lengths)})");
        if (flattened == 0) return 0;
        nint expected = 1;
        for (int i = lengths.Length - 1; i >= 0; i--)
        {
            // A dimension of length 1 is never stepped over, so its stride does not matter.
            if (lengths[i] != 1 && strides[i] != expected)
                throw Check.Fail(argument,
                    $"a dense row-major tensor (strides {Text(RowMajorStrides(lengths))} for lengths {Text(lengths)})",
                    $"strides {Text(strides)}: a transposed, strided or broadcast view; copy it into a dense tensor first");
            expected *= lengths[i];
        }
        return (int)flattened;
    }

    private static nint[] RowMajorStrides(ReadOnlySpan<nint> lengths)
    {
        var strides = new nint[lengths.Length];
        nint step = 1;
        for (int i = lengths.Length - 1; i >= 0; i--)
        {
            strides[i] = step;
            step *= lengths[i];
        }
        return strides;
    }

    private static string Text(ReadOnlySpan<nint> values) => "[" + string.Join(", ", values.ToArray()) + "]";
}
