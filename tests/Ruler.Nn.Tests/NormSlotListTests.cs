namespace Ruler.Nn.Tests;

/// <summary>
/// The engine's slot builds every normalizer from the library's one list (<see cref="Normalizers"/>): each entry is a
/// <see cref="NormKind"/> member, the slot holds the entry's module for images (and tokens where it has a token form),
/// and <see cref="NormSlot{T}.From"/> finds the kind of a module built by the caller.
/// </summary>
public class NormSlotListTests
{
    [Fact]
    public void EveryListedNormalizerIsANormKindAndBuildsItsModule()
    {
        foreach (var info in Normalizers.All)
        {
            Assert.True(Enum.TryParse<NormKind>(info.Name, out var kind), $"{info.Name} has no NormKind member");
            var images = NormSlot<float>.ForImages("n", kind, 4, 3, 3, groups: 2);
            Assert.Equal(info.ModuleType, images.Normalizer!.GetType().GetGenericTypeDefinition());
            Assert.Equal(kind, NormSlot<float>.From("m", info.ForImages<float>(4, 3, 3, 2), 4).Kind);
            if (info.HasTokenForm)
                Assert.Equal(info.ModuleType, NormSlot<float>.ForTokens("t", kind, 8, groups: 2).Normalizer!.GetType().GetGenericTypeDefinition());
            else
                Assert.Throws<ArgumentException>(() => NormSlot<float>.ForTokens("t", kind, 8));
        }
    }

    [Fact]
    public void TheOnlyKindsOutsideTheListAreTheControls()
    {
        var outside = Enum.GetValues<NormKind>().Where(k => Normalizers.All.All(n => n.Name != k.ToString())).ToArray();
        Assert.Equal([NormKind.None, NormKind.DyT, NormKind.CenterOnly], outside);
    }
}
