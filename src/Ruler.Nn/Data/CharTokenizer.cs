namespace Ruler.Nn.Data;

/// <summary>Character-level tokenizer: the token of a character is its rank in the sorted (ordinal) set of characters of a text.</summary>
public sealed class CharTokenizer
{
    private readonly string _vocabulary;
    private readonly int[] _tokenOf; // indexed by char code; −1 for characters outside the vocabulary

    /// <summary>Builds the vocabulary from the distinct characters of <paramref name="text"/>.</summary>
    /// <param name="text">A non-empty text.</param>
    public CharTokenizer(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        char[] distinct = text.Distinct().Order().ToArray();
        _vocabulary = new string(distinct);
        _tokenOf = new int[distinct[^1] + 1];
        Array.Fill(_tokenOf, -1);
        for (int t = 0; t < distinct.Length; t++) _tokenOf[distinct[t]] = t;
    }

    /// <summary>Number of distinct characters (65 for tiny Shakespeare).</summary>
    public int VocabSize => _vocabulary.Length;

    /// <summary>The characters in token order.</summary>
    public string Vocabulary => _vocabulary;

    /// <summary>The tokens of <paramref name="text"/>; throws if a character is not in the vocabulary.</summary>
    /// <param name="text">Text made of vocabulary characters.</param>
    public int[] Encode(ReadOnlySpan<char> text)
    {
        var tokens = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            int t = c < _tokenOf.Length ? _tokenOf[c] : -1;
            if (t < 0)
                throw new ArgumentException($"text: expected characters of the vocabulary, got U+{(int)c:X4} at index {i}.", nameof(text));
            tokens[i] = t;
        }
        return tokens;
    }

    /// <summary>The text of <paramref name="tokens"/>; throws on a token outside [0, <see cref="VocabSize"/>).</summary>
    /// <param name="tokens">Token ids.</param>
    public string Decode(ReadOnlySpan<int> tokens)
    {
        var chars = new char[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            int t = tokens[i];
            if ((uint)t >= (uint)VocabSize)
                throw new ArgumentException($"tokens: expected ids in [0, {VocabSize}), got {t} at index {i}.", nameof(tokens));
            chars[i] = _vocabulary[t];
        }
        return new string(chars);
    }
}
