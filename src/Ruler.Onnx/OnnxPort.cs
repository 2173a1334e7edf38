namespace Ruler.Onnx;

/// <summary>A named graph input or output of a one-node model with a fixed shape.</summary>
/// <param name="Name">The value's name in the graph; an empty name leaves an optional node input or output out.</param>
/// <param name="Shape">Its dimensions (ignored for an omitted port).</param>
public sealed record OnnxPort(string Name, int[] Shape)
{
    /// <summary>A placeholder for an optional node input or output that is left out.</summary>
    public static OnnxPort Omitted { get; } = new("", []);

    /// <summary>Whether this port is a placeholder for a left-out optional input or output.</summary>
    public bool IsOmitted => Name.Length == 0;
}
