namespace Ruler.Nn.Tests;

public class EngineSmokeTests
{
    [Fact]
    public void EngineAssemblyLoads() => Assert.Equal("Ruler.Nn", EngineInfo.Name);
}
