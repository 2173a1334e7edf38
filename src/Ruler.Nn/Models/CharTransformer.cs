namespace Ruler.Nn;

/// <summary>
/// A small GPT for characters: token embedding + learned positional embedding, L layers of
/// [attention block, MLP block] with the configured norm type and placement, a final norm (Pre placement) and a
/// bias-free LM head. In Pre placement each block's residual add is fused with the norm that follows it
/// (<see cref="ResidualStack"/>). <see cref="Loss"/> runs forward and the cross-entropy; <see cref="Backward()"/> fills every
/// parameter's gradient (accumulating, like PyTorch: call <see cref="ZeroGrad"/> between steps).
/// </summary>
/// <typeparam name="T">float to train, double to gradient-check.</typeparam>
public sealed class CharTransformer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<ResidualBlock<T>> _blocks = [];
    private readonly SoftmaxCrossEntropy<T> _loss = new();
    private readonly NamedParameter<T>[] _named;
    private readonly Parameter<T>[] _parameters;
    private int _batch, _time;
    private bool _training = true;
    private Recorder? _recorder;

    /// <summary>Builds the model with weights drawn from <paramref name="seed"/>.</summary>
    public CharTransformer(TransformerConfig config, ulong seed)
    {
        Config = config;
        var rng = new Rng(seed);
        int d = config.Dim, hidden = config.MlpHidden > 0 ? config.MlpHidden : 4 * d;
        TokenEmbedding = new Embedding<T>("wte", config.VocabSize, d, rng);
        PositionEmbedding = new PositionalEmbedding<T>("wpe", config.Context, d, rng);
        for (int l = 0; l < config.Layers; l++)
        {
            ulong dropoutSeed = seed ^ (0x9E3779B97F4A7C15UL * (ulong)(l + 1));
            var attn = new CausalSelfAttention<T>($"h.{l}.attn", d, config.Heads, rng, config.Bias, config.UniformAttention, config.Dropout, dropoutSeed);
            _blocks.Add(new ResidualBlock<T>(config.Placement, NormSlot<T>.ForTokens($"h.{l}.ln1", config.Norm, d, config.NormGroups), attn));
            var mlp = new Mlp<T>($"h.{l}.mlp", d, hidden, config.Activation, rng, config.Bias, config.Dropout, dropoutSeed + 1);
            _blocks.Add(new ResidualBlock<T>(config.Placement, NormSlot<T>.ForTokens($"h.{l}.ln2", config.Norm, d, config.NormGroups), mlp));
        }
        FinalNorm = NormSlot<T>.ForTokens("ln_f", config.Placement == NormPlacement.Pre ? config.Norm : NormKind.None, d, config.NormGroups);
        Head = new Linear<T>("lm_head", d, config.VocabSize, rng, bias: false);
        _named = [.. TokenEmbedding.NamedParameters, .. PositionEmbedding.NamedParameters, .. _blocks.SelectMany(b => b.NamedParameters),
            .. FinalNorm.NamedParameters, .. Head.NamedParameters];
        _parameters = [.. _named.Select(p => p.Parameter)];
    }

    /// <summary>The configuration it was built from.</summary>
    public TransformerConfig Config { get; }

    /// <summary>wte.</summary>
    public Embedding<T> TokenEmbedding { get; }

    /// <summary>wpe.</summary>
    public PositionalEmbedding<T> PositionEmbedding { get; }

    /// <summary>The residual blocks in order: attention of layer 0, MLP of layer 0, attention of layer 1, …</summary>
    public IReadOnlyList<ResidualBlock<T>> Blocks => _blocks;

    /// <summary>The norm before the head (the identity in Post placement).</summary>
    public NormSlot<T> FinalNorm { get; }

    /// <summary>dim → vocab logits.</summary>
    public Linear<T> Head { get; }

    /// <summary>Every parameter (for optimizers), in a fixed order.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>Every parameter with a unique name, same order as <see cref="Parameters"/>.</summary>
    public IReadOnlyList<NamedParameter<T>> NamedParameters => _named;

    /// <summary>Running statistics of every norm slot that tracks them (BatchNorm), saved with the parameters.</summary>
    public IReadOnlyList<NamedBuffer<T>> NamedBuffers => [.. _blocks.SelectMany(b => b.Norm.NamedBuffers), .. FinalNorm.NamedBuffers];

    /// <summary>Training (dropout, batch statistics) or eval mode for every layer.</summary>
    public bool Training
    {
        get => _training;
        set
        {
            _training = value;
            foreach (var b in _blocks) b.Training = value;
            FinalNorm.Training = value;
        }
    }

    /// <summary>When set, forward records stream RMS and update ratios per block and backward records every parameter's gradient norm.</summary>
    public Recorder? Recorder
    {
        get => _recorder;
        set
        {
            _recorder = value;
            foreach (var b in _blocks) b.Recorder = value;
        }
    }

    /// <summary>Logits (batch, time, vocab) for tokens (batch, time), time ≤ context. The buffer is the model's, valid until the next call.</summary>
    public T[] Forward(int[] tokens, int batch, int time)
    {
        if (tokens.Length != batch * time) throw new ArgumentException($"CharTransformer: tokens need {batch}×{time} elements, got {tokens.Length}.", nameof(tokens));
        (_batch, _time) = (batch, time);
        var x = PositionEmbedding.Forward(TokenEmbedding.Forward(tokens), batch, time);
        _recorder?.Add(Recorder.StreamRms, Recorder.Rms<T>(x));
        // Pre placement: each block's residual add runs in one pass with the next norm (LayerNorm/RMSNorm: the
        // library's fused AddForward), the last one with the final norm.
        var (_, n) = ResidualStack.Forward(_blocks, x, FinalNorm, batch, time);
        return Head.Forward(n, batch * time);
    }

    /// <summary>Forward, then the mean cross-entropy of predicting targets (batch, time).</summary>
    public double Loss(int[] tokens, int[] targets, int batch, int time)
    {
        var logits = Forward(tokens, batch, time);
        return _loss.Forward(logits, targets, Config.VocabSize);
    }

    /// <summary>Back-propagates the last <see cref="Loss"/>, accumulating every parameter's gradient.</summary>
    public void Backward() => Backward(_loss.Backward());

    /// <summary>Back-propagates a gradient of the logits of the last <see cref="Forward"/> (for losses other than cross-entropy).</summary>
    public void Backward(T[] dLogits)
    {
        if (dLogits.Length != _batch * _time * Config.VocabSize) throw new ArgumentException($"CharTransformer: dLogits needs {_batch}×{_time}×{Config.VocabSize} elements, got {dLogits.Length}.", nameof(dLogits));
        var dx = FinalNorm.Backward(Head.Backward(dLogits));
        for (int i = _blocks.Count - 1; i >= 0; i--) dx = _blocks[i].Backward(dx);
        TokenEmbedding.Backward(PositionEmbedding.Backward(dx));
        _recorder?.AddGradientNorms<T>(_named);
    }

    /// <summary>Zeroes every gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.ZeroGrad();
    }
}
