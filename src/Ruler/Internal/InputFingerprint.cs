namespace Ruler.Internal;

/// <summary>
/// What a module's backward needs to know about the last forward's input beyond its statistics: its shape, and
/// whether the output overwrote it (an in-place forward). Whether the values are still the forward's is checked
/// by the backward itself, against the saved statistics (<see cref="RulerNormalizer{T}"/>).
/// </summary>
internal sealed class InputFingerprint
{
    private int[] _shape = [];
    private long _length;
    private bool _recorded, _overwritten;

    /// <summary>Forgets the last input (a forward failed).</summary>
    public void Clear() => _recorded = false;

    /// <summary>Records a forward's input. Allocates only when the rank changes.</summary>
    /// <param name="length">The input's element count.</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="overwritten">Whether the output overlaps it (an in-place forward).</param>
    public void Record(int length, ReadOnlySpan<int> shape, bool overwritten)
    {
        if (_shape.Length != shape.Length) _shape = new int[shape.Length];
        shape.CopyTo(_shape);
        _length = length;
        _overwritten = overwritten;
        _recorded = true;
    }

    /// <summary>Refuses a backward input that cannot be the forward's: none recorded, overwritten in place, or another shape.</summary>
    public void Verify(int length, ReadOnlySpan<int> shape, string argument = "x")
    {
        if (!_recorded)
            throw new InvalidOperationException("Backward: expected a successful Forward on this instance first, got none.");
        if (_overwritten)
            throw Check.Fail(argument, $"the input of the last Forward, which wrote its output over that input (in place), so the values the gradient needs are gone; run Forward with y separate from {argument} before Backward",
                "a Backward after an in-place Forward");
        if (!shape.SequenceEqual(_shape) || length != _length)
            throw Check.Fail(argument, $"the input of the last Forward, shape {Check.ShapeText(_shape)} ({_length} elements)",
                $"shape {Check.ShapeText(shape)} ({length} elements)");
    }
}
