namespace Ruler.Nn;

/// <summary>Placeholder namespace anchor for the lab engine; replaced as the engine grows.</summary>
internal static class EngineInfo
{
    internal const string Name = "Ruler.Nn";
}
