using System.Numerics;
using System.Runtime.InteropServices;

namespace Ruler.Internal;

/// <summary>
/// What a module's forward saw: the input's shape, a 64-bit fingerprint of its bits, and whether the output
/// overwrote it. A backward is right only for the same values, so it is checked against this, not against where
/// the input lived (the garbage collector moves arrays; a copy of the input is as good as the input).
/// </summary>
internal sealed class InputFingerprint
{
    private int[] _shape = [];
    private long _length;
    private ulong _hash;
    private bool _recorded, _overwritten;

    /// <summary>Forgets the last input (a forward is starting, or failed).</summary>
    public void Clear() => _recorded = false;

    /// <summary>Records a forward's input; call it before the output is written, when they may overlap. Allocates only when the rank changes.</summary>
    public void Record<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, bool overwritten) where T : unmanaged
    {
        if (_shape.Length != shape.Length) _shape = new int[shape.Length];
        shape.CopyTo(_shape);
        _length = x.Length;
        _overwritten = overwritten;
        _hash = overwritten ? 0 : Hash(MemoryMarshal.AsBytes(x));
        _recorded = true;
    }

    /// <summary>Refuses a backward input that is not the forward's: none recorded, overwritten in place, another shape or other bits.</summary>
    public void Verify<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> shape) where T : unmanaged
    {
        if (!_recorded)
            throw new InvalidOperationException("Backward: expected a successful Forward on this instance first, got none.");
        if (_overwritten)
            throw Check.Fail("x", "the input of the last Forward, which wrote its output over that input (in place), so the values the gradient needs are gone; run Forward with y separate from x before Backward",
                "a Backward after an in-place Forward");
        if (!shape.SequenceEqual(_shape) || x.Length != _length)
            throw Check.Fail("x", $"the input of the last Forward, shape {Check.ShapeText(_shape)} ({_length} elements)",
                $"shape {Check.ShapeText(shape)} ({x.Length} elements)");
        if (Hash(MemoryMarshal.AsBytes(x)) != _hash)
            throw Check.Fail("x", "the input of the last Forward (the gradient depends on it)",
                "values that differ from it (changed since the Forward, or another tensor of the same shape)");
    }

    /// <summary>
    /// A Fletcher-style sum over 64-bit words, per vector lane: s1 += w, s2 += s1 (mod 2⁶⁴), then the lanes mixed.
    /// Any change to one word changes s1; a swap or a pair of changes that cancel in s1 changes s2. Two adds per
    /// vector: it runs at memory speed.
    /// </summary>
    public static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(bytes);
        Vector<ulong> s1 = Vector<ulong>.Zero, s2 = Vector<ulong>.Zero;
        var vectors = MemoryMarshal.Cast<ulong, Vector<ulong>>(words);
        foreach (var v in vectors)
        {
            s1 += v;
            s2 += s1;
        }
        ulong h = 0xcbf29ce484222325UL ^ (ulong)bytes.Length;
        for (int l = 0; l < Vector<ulong>.Count; l++) h = Mix(Mix(h, s1[l]), s2[l]);
        for (int i = vectors.Length * Vector<ulong>.Count; i < words.Length; i++) h = Mix(h, words[i] + (ulong)i);
        for (int i = words.Length * sizeof(ulong); i < bytes.Length; i++) h = Mix(h, bytes[i] + ((ulong)i << 8));
        return h;
    }

    /// <summary>One step of a multiply-xorshift mix (each input bit reaches every output bit).</summary>
    private static ulong Mix(ulong h, ulong w)
    {
        h = (h ^ w) * 0x9E3779B97F4A7C15UL;
        return h ^ (h >> 29);
    }
}
