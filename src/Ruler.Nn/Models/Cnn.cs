namespace Ruler.Nn;

/// <summary>
/// A small CNN on NCHW images: for each layer conv 3×3 (padding 1) → norm slot → ReLU (→ 2×2 max pool where
/// configured), then global average pooling (or flattening) and a Linear head to class logits.
/// </summary>
/// <typeparam name="T">float to train, double to gradient-check.</typeparam>
public sealed class Cnn<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<Stage> _stages = [];
    private readonly GlobalAvgPool<T> _gap = new();
    private readonly SoftmaxCrossEntropy<T> _loss = new();
    private readonly NamedParameter<T>[] _named;
    private readonly Parameter<T>[] _parameters;
    private readonly (int C, int H, int W) _headShape;
    private int _batch;
    private bool _training = true;

    private sealed record Stage(Conv2d<T> Conv, NormSlot<T> Norm, Relu<T> Act, MaxPool2d<T>? Pool, int Height, int Width);

    /// <summary>Builds the model with weights drawn from <paramref name="seed"/>.</summary>
    public Cnn(CnnConfig config, ulong seed)
    {
        if (config.Channels.Length == 0) throw new ArgumentException("Cnn: needs at least one conv layer.", nameof(config));
        Config = config;
        var rng = new Rng(seed);
        int c = config.InputChannels, h = config.Height, w = config.Width;
        for (int l = 0; l < config.Channels.Length; l++)
        {
            int outC = config.Channels[l];
            var conv = new Conv2d<T>($"conv.{l}", c, outC, 3, rng, stride: 1, padding: 1, bias: config.ConvBias);
            var norm = NormSlot<T>.ForImages($"norm.{l}", config.Norm, outC, h, w, Math.Min(config.NormGroups, outC));
            bool pool = config.PoolAfter.Contains(l);
            _stages.Add(new Stage(conv, norm, new Relu<T>(), pool ? new MaxPool2d<T>(2) : null, h, w));
            (c, h, w) = pool ? (outC, h / 2, w / 2) : (outC, h, w);
        }
        _headShape = (c, h, w);
        Head = new Linear<T>("head", config.Head == CnnHead.Flatten ? c * h * w : c, config.Classes, rng);
        _named = [.. _stages.SelectMany(s => s.Conv.NamedParameters.Concat(s.Norm.NamedParameters)), .. Head.NamedParameters];
        _parameters = [.. _named.Select(p => p.Parameter)];
    }

    /// <summary>The configuration it was built from.</summary>
    public CnnConfig Config { get; }

    /// <summary>The convolutions in order.</summary>
    public IReadOnlyList<Conv2d<T>> Convs => [.. _stages.Select(s => s.Conv)];

    /// <summary>The norm slots in order.</summary>
    public IReadOnlyList<NormSlot<T>> Norms => [.. _stages.Select(s => s.Norm)];

    /// <summary>Last channels → classes.</summary>
    public Linear<T> Head { get; }

    /// <summary>Every parameter (for optimizers), in a fixed order.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>Every parameter with a unique name, same order as <see cref="Parameters"/>.</summary>
    public IReadOnlyList<NamedParameter<T>> NamedParameters => _named;

    /// <summary>Running statistics of every norm slot that tracks them (BatchNorm), saved with the parameters.</summary>
    public IReadOnlyList<NamedBuffer<T>> NamedBuffers => [.. _stages.SelectMany(s => s.Norm.NamedBuffers)];

    /// <summary>When set, forward records <see cref="Recorder.ActivationRms"/> after every ReLU and backward every parameter's gradient norm.</summary>
    public Recorder? Recorder { get; set; }

    /// <summary>Training (batch statistics) or eval mode for every norm.</summary>
    public bool Training
    {
        get => _training;
        set
        {
            _training = value;
            foreach (var s in _stages) s.Norm.Training = value;
        }
    }

    /// <summary>Logits (batch, classes) for images (batch, C, H, W). The buffer is the model's, valid until the next call.</summary>
    public T[] Forward(T[] images, int batch)
    {
        int c = Config.InputChannels;
        if (images.Length != batch * c * Config.Height * Config.Width)
            throw new ArgumentException($"Cnn: images need {batch}×{c}×{Config.Height}×{Config.Width} elements, got {images.Length}.", nameof(images));
        _batch = batch;
        var x = images;
        foreach (var s in _stages)
        {
            x = s.Conv.Forward(x, batch, s.Height, s.Width);
            c = s.Conv.OutChannels;
            x = s.Act.Forward(s.Norm.Forward(x, [batch, c, s.Height, s.Width]));
            Recorder?.Add(Recorder.ActivationRms, Recorder.Rms<T>(x));
            if (s.Pool is not null) x = s.Pool.Forward(x, batch, c, s.Height, s.Width);
        }
        var (hc, h, w) = _headShape;
        return Head.Forward(Config.Head == CnnHead.Flatten ? x : _gap.Forward(x, batch, hc, h, w), batch);
    }

    /// <summary>Forward, then the mean cross-entropy against one label per image.</summary>
    public double Loss(T[] images, int[] labels, int batch) => _loss.Forward(Forward(images, batch), labels, Config.Classes);

    /// <summary>Back-propagates the last <see cref="Loss"/>, accumulating every parameter's gradient.</summary>
    public void Backward() => Backward(_loss.Backward());

    /// <summary>Back-propagates a gradient of the logits of the last <see cref="Forward"/>.</summary>
    public void Backward(T[] dLogits)
    {
        if (dLogits.Length != _batch * Config.Classes) throw new ArgumentException($"Cnn: dLogits needs {_batch}×{Config.Classes} elements, got {dLogits.Length}.", nameof(dLogits));
        var dx = Head.Backward(dLogits);
        if (Config.Head == CnnHead.GlobalAveragePool) dx = _gap.Backward(dx);
        for (int i = _stages.Count - 1; i >= 0; i--)
        {
            var s = _stages[i];
            if (s.Pool is not null) dx = s.Pool.Backward(dx);
            dx = s.Conv.Backward(s.Norm.Backward(s.Act.Backward(dx)));
        }
        Recorder?.AddGradientNorms<T>(_named);
    }

    /// <summary>Zeroes every gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.ZeroGrad();
    }
}
