namespace Ruler.Tests;

/// <summary>
/// Tests that measure the process as a whole (bytes allocated per call) run in this collection: xunit runs it
/// alone, after the parallel collections, so no other test grows the kernels' thread pool or tiers up code meanwhile.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial: process-wide measurements";
}
