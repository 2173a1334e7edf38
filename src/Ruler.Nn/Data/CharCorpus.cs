namespace Ruler.Nn.Data;

/// <summary>A text tokenized by characters and split by position: the first 90% of tokens for training, the rest for validation.</summary>
public sealed class CharCorpus
{
    /// <summary>Fraction of the tokens, from the start, used for training.</summary>
    public const double TrainFraction = 0.9;

    /// <summary>Tokenizes <paramref name="text"/> with a vocabulary built from it and splits it.</summary>
    /// <param name="text">A non-empty text.</param>
    public CharCorpus(string text)
    {
        Tokenizer = new CharTokenizer(text);
        int[] tokens = Tokenizer.Encode(text);
        int trainCount = (int)(TrainFraction * tokens.Length);
        Train = tokens[..trainCount];
        Validation = tokens[trainCount..];
    }

    /// <summary>The character tokenizer of the whole text.</summary>
    public CharTokenizer Tokenizer { get; }

    /// <summary>The first ⌊0.9·N⌋ tokens.</summary>
    public int[] Train { get; }

    /// <summary>The remaining tokens.</summary>
    public int[] Validation { get; }
}
