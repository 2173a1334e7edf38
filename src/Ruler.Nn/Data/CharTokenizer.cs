using System.Buffers;
using System.Text;

namespace Ruler.Nn.Data;

/// <summary>
/// Character-level tokenizer: the token of a character is its rank in the sorted (code point) set of characters of a
/// text. A character is a Unicode scalar value, so one outside the Basic Multilingual Plane (a surrogate pair in
/// UTF-16, e.g. an emoji) is one token, not two halves.
/// </summary>
public sealed class CharTokenizer
{
    private readonly string _vocabulary;
    private readonly Rune[] _symbols;              // token → its character
    private readonly int[] _tokenOf;               // indexed by BMP char code; −1 for characters outside the vocabulary
    private readonly Dictionary<int, int> _beyondBmp = [];   // code point → token, for characters outside the BMP

    /// <summary>Builds the vocabulary from the distinct characters of <paramref name="text"/>.</summary>
    /// <param name="text">A non-empty text of valid UTF-16 (no lone surrogates).</param>
    public CharTokenizer(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        var distinct = new SortedSet<int>();
        foreach (var (rune, _) in Runes(text, nameof(text))) distinct.Add(rune.Value);
        _symbols = distinct.Select(v => new Rune(v)).ToArray();
        _vocabulary = string.Concat(_symbols.Select(r => r.ToString()));
        int bmpMax = _symbols.Where(r => r.IsBmp).Select(r => r.Value).DefaultIfEmpty(-1).Max();
        _tokenOf = new int[bmpMax + 1];
        Array.Fill(_tokenOf, -1);
        for (int t = 0; t < _symbols.Length; t++)
        {
            if (_symbols[t].IsBmp) _tokenOf[_symbols[t].Value] = t;
            else _beyondBmp[_symbols[t].Value] = t;
        }
    }

    /// <summary>Number of distinct characters (65 for tiny Shakespeare).</summary>
    public int VocabSize => _symbols.Length;

    /// <summary>The characters in token order (a character outside the BMP takes two UTF-16 code units here).</summary>
    public string Vocabulary => _vocabulary;

    /// <summary>The tokens of <paramref name="text"/>, one per character; throws if a character is not in the vocabulary.</summary>
    /// <param name="text">Text made of vocabulary characters.</param>
    public int[] Encode(ReadOnlySpan<char> text)
    {
        var tokens = new List<int>(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            var rune = Next(text, i, nameof(text), out int consumed);
            int t = rune.IsBmp ? (rune.Value < _tokenOf.Length ? _tokenOf[rune.Value] : -1) : _beyondBmp.GetValueOrDefault(rune.Value, -1);
            if (t < 0)
                throw new ArgumentException($"text: expected characters of the vocabulary, got U+{rune.Value:X4} at index {i}.", nameof(text));
            tokens.Add(t);
            i += consumed;
        }
        return tokens.ToArray();
    }

    /// <summary>The text of <paramref name="tokens"/>; throws on a token outside [0, <see cref="VocabSize"/>).</summary>
    /// <param name="tokens">Token ids.</param>
    public string Decode(ReadOnlySpan<int> tokens)
    {
        var text = new StringBuilder(tokens.Length);
        for (int i = 0; i < tokens.Length; i++)
        {
            int t = tokens[i];
            if ((uint)t >= (uint)VocabSize)
                throw new ArgumentException($"tokens: expected ids in [0, {VocabSize}), got {t} at index {i}.", nameof(tokens));
            text.Append(_symbols[t].ToString());
        }
        return text.ToString();
    }

    private static IEnumerable<(Rune Rune, int Index)> Runes(string text, string argument)
    {
        for (int i = 0; i < text.Length;)
        {
            var rune = Next(text, i, argument, out int consumed);
            yield return (rune, i);
            i += consumed;
        }
    }

    /// <summary>The character at <paramref name="index"/> (one code unit, or a surrogate pair); a lone surrogate is refused.</summary>
    private static Rune Next(ReadOnlySpan<char> text, int index, string argument, out int consumed)
    {
        if (Rune.DecodeFromUtf16(text[index..], out var rune, out consumed) != OperationStatus.Done)
            throw new ArgumentException($"{argument}: expected valid UTF-16 text, got a lone surrogate U+{(int)text[index]:X4} at index {index}.", argument);
        return rune;
    }
}
