using System.Reflection;

namespace Ruler.Tests;

/// <summary>
/// <see cref="Normalizers"/> is the one list every enumeration of normalizers reads, so it must be complete and say
/// what its modules do: every public normalizer module of the library has an entry; each entry's preset is the ruler
/// its module uses (same output bits); its sharing properties give the group count of the preset's layout.
/// </summary>
public class NormalizerListTests
{
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var n in Normalizers.All) data.Add(n.Name);
        return data;
    }

    [Fact]
    public void EveryPublicRulerNormalizerModuleHasAnEntry()
    {
        var modules = typeof(RulerNormalizer<>).Assembly.GetTypes()
            .Where(t => t.IsPublic && !t.IsAbstract && t.IsGenericTypeDefinition && DerivesFromRulerNormalizer(t))
            .ToList();
        Assert.NotEmpty(modules);
        foreach (var module in modules) Assert.Contains(Normalizers.All, n => n.ModuleType == module);
        Assert.Equal(Normalizers.All.Count, Normalizers.All.Select(n => n.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void TheImageModuleRunsThePresetAndIsFoundAgainByOf(string name)
    {
        var info = Normalizers.Get(name);
        int[] shape = [3, 4, 5, 6];
        var module = info.ForImages<double>(4, 5, 6, groups: 2);
        Assert.Same(info, Normalizers.Of(module));
        Assert.Equal(info.ModuleType, module.GetType().GetGenericTypeDefinition());
        var random = new Random(3);
        var x = Enumerable.Range(0, 360).Select(_ => 2 * random.NextDouble() - 1).ToArray();
        var y = new double[x.Length];
        module.Forward(x, shape, y);

        var (ruler, view) = info.Preset(shape, module.Eps, groups: 2);
        var (mean, rstd) = ruler.AllocateStatistics(view);
        var expected = new double[x.Length];
        RulerOps.Forward<double>(ruler, x, view, [], [], expected, mean, rstd);
        Assert.Equal(expected, y);   // γ = 1, β = 0: the same bits
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void TheSharingPropertiesGiveThePresetsGroupCount(string name)
    {
        var info = Normalizers.Get(name);
        const int n = 3, c = 4, g = 2;
        int[] shape = [n, c, 5, 6];
        var (ruler, view) = info.Preset(shape, 1e-5, g);
        int perSample = info.Channels switch { ChannelSharing.One => c, ChannelSharing.Group => g, _ => 1 };
        int expected = (info.SharesAcrossSamples ? 1 : n) * perSample;
        Assert.Equal(expected, ruler.Resolve(view).GroupCount);
        Assert.Equal(name != "RmsNorm", info.Centers);
    }

    [Fact]
    public void TokenFormsExistExceptForInstanceNorm()
    {
        foreach (var info in Normalizers.All)
        {
            if (info.HasTokenForm) Assert.Equal(info.ModuleType, info.ForTokens<float>(8, 2).GetType().GetGenericTypeDefinition());
            else Assert.Throws<NotSupportedException>(() => info.ForTokens<float>(8, 2));
        }
        Assert.Equal(["InstanceNorm"], Normalizers.All.Where(i => !i.HasTokenForm).Select(i => i.Name));
    }

    [Fact]
    public void UnknownNamesAndModulesAreRefusedOrNotFound()
    {
        var e = Assert.Throws<ArgumentException>(() => Normalizers.Get("PowerNorm"));
        Assert.Equal("name", e.ParamName);
        Assert.Contains("PowerNorm", e.Message);
        Assert.Null(Normalizers.Of(new DynamicTanh<float>([4])));
    }

    private static bool DerivesFromRulerNormalizer(Type t)
    {
        for (var b = t.BaseType; b is not null; b = b.BaseType)
            if (b.IsGenericType && b.GetGenericTypeDefinition() == typeof(RulerNormalizer<>)) return true;
        return false;
    }
}
