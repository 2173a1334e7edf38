using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Xml.Linq;

namespace Ruler.Tests;

/// <summary>
/// The packages as a user gets them: both packed into a local feed, the tool installed from it into a temporary
/// folder and run, and a new console project built against the library package. Child processes only, with their
/// own NuGet configuration and packages folder, so nothing outside the temporary folder changes. The class runs
/// alone (it starts builds that would slow every test running beside it).
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class PackageTests(PackageFeedFixture feed)
{
    /// <summary>The issue's budget for the tool package of one platform.</summary>
    private const long ToolPackageLimit = 25L * 1024 * 1024;

    [Fact]
    public void LibraryPackageHasMetadataReadmeDocsAndSymbols()
    {
        using var zip = ZipFile.OpenRead(feed.LibraryPackage);
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("lib/net10.0/Ruler.dll", names);
        Assert.Contains("lib/net10.0/Ruler.xml", names);
        Assert.Contains("PACKAGE.md", names);

        var nuspec = ReadNuspec(zip);
        foreach (string field in new[] { "id", "version", "authors", "description", "projectUrl", "tags", "readme", "license" })
            Assert.False(string.IsNullOrWhiteSpace(Field(nuspec, field)), $"nuspec <{field}> is empty");
        Assert.Equal("MIT", Field(nuspec, "license"));
        Assert.Equal("PACKAGE.md", Field(nuspec, "readme"));
        Assert.NotNull(nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == "repository")?.Attribute("url"));

        // Written for nuget.org: no links into the repository, no commands that need a clone.
        string readme = new StreamReader(zip.GetEntry("PACKAGE.md")!.Open()).ReadToEnd();
        Assert.DoesNotContain("--project", readme);
        Assert.DoesNotMatch(@"\]\((?!https?://)[^)]*\)", readme);

        string symbols = Path.ChangeExtension(feed.LibraryPackage, ".snupkg");
        Assert.True(File.Exists(symbols), $"no symbols package next to {feed.LibraryPackage}");
        using var symbolZip = ZipFile.OpenRead(symbols);
        Assert.Contains("lib/net10.0/Ruler.pdb", symbolZip.Entries.Select(e => e.FullName));
    }

    [Fact]
    public void PackedXmlDocumentsThePublicApiOnly()
    {
        using var zip = ZipFile.OpenRead(feed.LibraryPackage);
        var packed = XDocument.Load(zip.GetEntry("lib/net10.0/Ruler.xml")!.Open());
        var names = MemberNames(packed);
        var visible = DocIds.Visible(typeof(RulerSpec).Assembly);
        var internals = names.Where(n => !visible.ContainsKey(n)).ToList();
        Assert.True(internals.Count == 0, "documented but not public: " + string.Join(", ", internals));
        // Every cref into Ruler points at something documented (nothing internal, nothing stripped).
        var crefs = packed.Descendants().Select(e => (string?)e.Attribute("cref")).OfType<string>()
            .Where(c => c.Contains(":Ruler.", StringComparison.Ordinal)).Distinct();
        var dangling = crefs.Where(c => !visible.ContainsKey(c)).ToList();
        Assert.True(dangling.Count == 0, "crefs to nothing public: " + string.Join(", ", dangling));
        Assert.Equal(MemberNames(XDocument.Load(PackageXmlDocsTests.BuiltXmlPath())).Order(), names.Order());
    }

    [Fact]
    public void ToolInstallsFromTheLocalFeedAndRunsExplain()
    {
        string rid = RuntimeInformation.RuntimeIdentifier;
        string toolPackage = Assert.Single(Directory.GetFiles(feed.Feed, $"Ruler.Cli.{rid}.*.nupkg"));
        long size = new FileInfo(toolPackage).Length;
        Assert.True(size <= ToolPackageLimit, $"{Path.GetFileName(toolPackage)} is {size / 1048576.0:F1} MB, over 25 MB");

        string tools = Path.Combine(feed.Root, "tools");
        feed.Run(feed.Root, "tool", "install", "Ruler.Cli", "--tool-path", tools, "--add-source", feed.Feed,
            "--configfile", feed.NuGetConfig, "--version", PackageFeedFixture.Version);
        var (code, output) = PackageFeedFixture.Execute(Path.Combine(tools, "ruler"), feed.Root, ["explain", "--json"], feed.Isolated);
        Assert.True(code == 0, output);
        Assert.Contains("\"examples\"", output);
        // No other platform's native libraries came along.
        string store = Path.Combine(tools, ".store");
        var natives = Directory.GetFiles(store, "*onnxruntime*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".so", StringComparison.Ordinal) || f.EndsWith(".dll", StringComparison.Ordinal) ||
                        f.EndsWith(".dylib", StringComparison.Ordinal))
            .Where(f => !Path.GetFileName(f).StartsWith("Microsoft.ML", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(natives);
        Assert.All(natives, f => Assert.DoesNotContain($"{Path.DirectorySeparatorChar}runtimes{Path.DirectorySeparatorChar}", f));
    }

    [Fact]
    public void ConsumerProjectBuildsAgainstThePackageAndRunsLayerNorm()
    {
        string project = Path.Combine(feed.Root, "consumer");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Ruler" Version="{PackageFeedFixture.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Program.cs"), """
            using System.Globalization;
            using Ruler;

            float[] x = [1f, 2f, 4f, 7f, -3f, 0.5f, 10f, 2.5f];
            float[] y = new float[x.Length];
            var ln = new LayerNorm<float>([4]);
            ln.Forward(x, [2, 4], y);
            Console.WriteLine(string.Join(" ", y.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            """);
        feed.Run(project, "restore", "--configfile", feed.NuGetConfig);
        string output = feed.Run(project, "run", "--no-restore", "-c", "Release").Trim().Split('\n')[^1];

        double[] x = [1, 2, 4, 7, -3, 0.5, 10, 2.5];
        double[] got = output.Trim().Split(' ').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(x.Length, got.Length);
        for (int row = 0; row < 2; row++)
        {
            var group = x.AsSpan(row * 4, 4);
            double mean = 0, variance = 0;
            foreach (double v in group) mean += v / 4;
            foreach (double v in group) variance += (v - mean) * (v - mean) / 4;
            for (int i = 0; i < 4; i++)
            {
                double expected = (group[i] - mean) / Math.Sqrt(variance + 1e-5); // float64 oracle, PyTorch's eps
                Assert.True(Math.Abs(got[row * 4 + i] - expected) <= 1e-5 * (1 + Math.Abs(expected)),
                    $"y[{row * 4 + i}] = {got[row * 4 + i]}, expected {expected} (tolerance 1e-5 relative)");
            }
        }
    }

    private static List<string> MemberNames(XDocument xml) =>
        xml.Descendants("member").Select(m => (string)m.Attribute("name")!).ToList();

    private static XElement ReadNuspec(ZipArchive zip)
    {
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        return XDocument.Load(entry.Open()).Root!;
    }

    private static string? Field(XElement nuspec, string name) =>
        nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
}

/// <summary>
/// The XML documentation of the library as built (the file the package ships, internals stripped), checked against
/// its public API by reflection: every public type and member documented, every parameter and type parameter,
/// a return value for every non-void method, the exceptions of every method that takes arguments, and an example
/// on every module.
/// </summary>
public sealed class PackageXmlDocsTests
{
    internal static string BuiltXmlPath() => Path.ChangeExtension(typeof(RulerSpec).Assembly.Location, ".xml");

    [Fact]
    public void XmlDocsAreCompleteForEveryPublicMember()
    {
        var xml = XDocument.Load(BuiltXmlPath());
        var docs = xml.Descendants("member").ToDictionary(m => (string)m.Attribute("name")!);
        var missing = new List<string>();
        foreach (var (id, member) in DocIds.Visible(typeof(RulerSpec).Assembly))
        {
            // C# 14 extension blocks compile to grouping and marker types (names starting with '<'); their members carry
            // the documentation the implementation methods point at with <inheritdoc cref>, checked below.
            if ((member as Type ?? member.DeclaringType)!.Name.StartsWith('<')) continue;
            if (!docs.TryGetValue(id, out var doc)) { missing.Add($"{id}: no documentation"); continue; }
            bool extension = false;
            if (doc.Element("inheritdoc") is { } inherit)
            {
                if ((string?)inherit.Attribute("cref") is not { } cref)
                {
                    if (!DocIds.Inherits(member)) missing.Add($"{id}: <inheritdoc/> on a member that overrides or implements nothing");
                    continue;
                }
                if (!docs.TryGetValue(cref, out var target)) { missing.Add($"{id}: <inheritdoc cref=\"{cref}\"/> points at nothing documented"); continue; }
                (doc, extension) = (target, true); // the extension block's member: its receiver and T are documented on the block
            }
            if (string.IsNullOrWhiteSpace(doc.Element("summary")?.Value)) missing.Add($"{id}: no <summary>");
            var parameters = member switch
            {
                MethodBase m => m.GetParameters(),
                PropertyInfo p => p.GetIndexParameters(),
                _ => [],
            };
            foreach (var p in parameters)
                if (!HasText(doc, "param", p.Name!) && !IsRecordPrimaryConstructor(member) && !(extension && p.Position == 0)) missing.Add($"{id}: no <param name=\"{p.Name}\">");
            var typeParameters = member switch
            {
                Type t when !t.IsNested => t.GetGenericArguments(),
                MethodInfo m when m.IsGenericMethodDefinition && !extension => m.GetGenericArguments(),
                _ => [],
            };
            foreach (var t in typeParameters)
                if (!HasText(doc, "typeparam", t.Name)) missing.Add($"{id}: no <typeparam name=\"{t.Name}\">");
            if (member is MethodInfo method && method.ReturnType != typeof(void) && string.IsNullOrWhiteSpace(doc.Element("returns")?.Value))
                missing.Add($"{id}: no <returns>");
            if (member is MethodBase callable && callable.GetParameters().Length > 0 && !CannotThrow.Contains(id) &&
                !IsRecordPrimaryConstructor(member) && doc.Element("exception") is null)
                missing.Add($"{id}: no <exception> (add it, or list the member in CannotThrow if no argument can be refused)");
            if (member is Type type && IsModule(type) && string.IsNullOrWhiteSpace(doc.Element("example")?.Value))
                missing.Add($"{id}: a module without an <example>");
        }
        Assert.True(missing.Count == 0, string.Join(Environment.NewLine, missing));
    }

    /// <summary>Public members with parameters that no argument can make fail: conversions and comparisons of values.</summary>
    private static readonly HashSet<string> CannotThrow =
    [
        "M:Ruler.Numerics.BFloat16.FromBits(System.UInt16)",
        "M:Ruler.Numerics.BFloat16.op_Explicit(System.Single)~Ruler.Numerics.BFloat16",
        "M:Ruler.Numerics.BFloat16.op_Explicit(System.Double)~Ruler.Numerics.BFloat16",
        "M:Ruler.Numerics.BFloat16.op_Explicit(Ruler.Numerics.BFloat16)~System.Single",
        "M:Ruler.Numerics.BFloat16.op_Explicit(Ruler.Numerics.BFloat16)~System.Double",
        "M:Ruler.GroupMoments.Combine(Ruler.GroupMoments,Ruler.GroupMoments)",
        "M:Ruler.GroupMoments.Of(System.ReadOnlySpan{System.Double})",
        "M:Ruler.Serialization.SafeTensorsException.#ctor(System.String,System.String,System.String,System.Exception)",
    ];

    private static bool IsModule(Type type) =>
        type is { IsClass: true, IsAbstract: false } && Ancestors(type).Any(b => b.IsGenericType &&
            (b.GetGenericTypeDefinition() == typeof(Normalizer<>) || b.GetGenericTypeDefinition() == typeof(AddNormalizer<>)));

    private static IEnumerable<Type> Ancestors(Type type)
    {
        for (var t = type.BaseType; t is not null; t = t.BaseType) yield return t;
    }

    /// <summary>A positional record's constructor is documented by the record's own &lt;param&gt; tags, and stores its arguments unchecked.</summary>
    private static bool IsRecordPrimaryConstructor(MemberInfo member) =>
        member is ConstructorInfo c &&
        c.DeclaringType!.GetMethod("PrintMembers", BindingFlags.NonPublic | BindingFlags.Instance) is not null;

    private static bool HasText(XElement doc, string tag, string name) =>
        doc.Elements(tag).Any(e => (string?)e.Attribute("name") == name && !string.IsNullOrWhiteSpace(e.Value));
}

/// <summary>
/// Documentation IDs (the names in the XML file) of the members another assembly can see, by reflection. Written
/// independently of build/KeepPublicApiDocs.cs, which strips the XML with the same rules at build time.
/// </summary>
internal static class DocIds
{
    private const BindingFlags Declared = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic |
                                          BindingFlags.Instance | BindingFlags.Static;

    public static Dictionary<string, MemberInfo> Visible(Assembly assembly)
    {
        var ids = new Dictionary<string, MemberInfo>();
        foreach (var type in assembly.GetTypes().Where(t => t.IsVisible))
        {
            ids["T:" + Name(type)] = type;
            foreach (var member in type.GetMembers(Declared))
            {
                if (member.IsDefined(typeof(CompilerGeneratedAttribute)) || !IsVisible(member)) continue;
                if (Of(member) is { } id) ids[id] = member;
            }
        }
        return ids;
    }

    /// <summary>Whether &lt;inheritdoc/&gt; has something to inherit: an override or an interface implementation.</summary>
    public static bool Inherits(MemberInfo member)
    {
        var method = member switch { MethodInfo m => m, PropertyInfo p => p.GetMethod, _ => null };
        if (method is null) return false;
        if (method.GetBaseDefinition() != method) return true;
        return method.DeclaringType!.GetInterfaces().Any(i => method.DeclaringType.GetInterfaceMap(i).TargetMethods.Contains(method));
    }

    private static bool IsVisible(MemberInfo member) => member switch
    {
        ConstructorInfo c => Accessible(c),
        MethodInfo m => (!m.IsSpecialName || m.Name.StartsWith("op_", StringComparison.Ordinal)) && Accessible(m),
        FieldInfo f => !f.IsSpecialName && (f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly),
        PropertyInfo p => p.GetAccessors(nonPublic: true).Any(Accessible),
        EventInfo e => e.AddMethod is { } add && Accessible(add),
        _ => false,
    };

    private static bool Accessible(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

    private static string? Of(MemberInfo member)
    {
        string owner = Name(member.DeclaringType!);
        return member switch
        {
            ConstructorInfo c => $"M:{owner}.{(c.IsStatic ? "#cctor" : "#ctor")}{Parameters(c.GetParameters())}",
            MethodInfo m => $"M:{owner}.{m.Name.Replace('.', '#')}" +
                            (m.IsGenericMethodDefinition ? "``" + m.GetGenericArguments().Length : "") +
                            Parameters(m.GetParameters()) +
                            (m.Name is "op_Implicit" or "op_Explicit" ? "~" + Signature(m.ReturnType) : ""),
            PropertyInfo p => $"P:{owner}.{p.Name.Replace('.', '#')}{Parameters(p.GetIndexParameters())}",
            FieldInfo f => $"F:{owner}.{f.Name}",
            EventInfo e => $"E:{owner}.{e.Name}",
            _ => null,
        };
    }

    private static string Parameters(ParameterInfo[] parameters) =>
        parameters.Length == 0 ? "" : "(" + string.Join(",", parameters.Select(p => Signature(p.ParameterType))) + ")";

    private static string Name(Type type) =>
        type.IsNested ? Name(type.DeclaringType!) + "." + type.Name : $"{type.Namespace}.{type.Name}";

    private static string Signature(Type type)
    {
        if (type.IsByRef) return Signature(type.GetElementType()!) + "@";
        if (type.IsPointer) return Signature(type.GetElementType()!) + "*";
        if (type.IsSZArray) return Signature(type.GetElementType()!) + "[]";
        if (type.IsArray) return Signature(type.GetElementType()!) + "[" + string.Join(",", Enumerable.Repeat("0:", type.GetArrayRank())) + "]";
        if (type.IsGenericParameter) return (type.IsGenericMethodParameter ? "``" : "`") + type.GenericParameterPosition;
        if (!type.IsConstructedGenericType) return Name(type);
        string name = Name(type.GetGenericTypeDefinition());
        return name[..name.LastIndexOf('`')] + "{" + string.Join(",", type.GetGenericArguments().Select(Signature)) + "}";
    }
}

/// <summary>
/// Packs the library and the tool (this platform's package only) once into a local feed under a temporary folder,
/// with a NuGet configuration whose only sources are that feed and the packages already restored on this machine
/// (read as a feed, never written), and an empty packages folder of its own.
/// </summary>
public sealed class PackageFeedFixture : IDisposable
{
    public const string Version = "0.1.0";

    public PackageFeedFixture()
    {
        Root = Directory.CreateTempSubdirectory("ruler-packages-").FullName;
        Feed = Path.Combine(Root, "feed");
        Directory.CreateDirectory(Feed);
        string packages = Path.Combine(Root, "packages");
        string restored = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        NuGetConfig = Path.Combine(Root, "nuget.config");
        File.WriteAllText(NuGetConfig, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{packages}" /></config>
              <packageSources>
                <clear />
                <add key="ruler-feed" value="{Feed}" />
                <add key="restored" value="{restored}" />
              </packageSources>
            </configuration>
            """);
        Isolated = new Dictionary<string, string>
        {
            ["NUGET_PACKAGES"] = packages,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
            ["MSBUILDDISABLENODEREUSE"] = "1",
        };
        string repo = RepoRoot();
        // Packing builds the repository as usual (its own packages folder); only what uses the packages is isolated.
        var packing = new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" };
        Run(repo, packing, "pack", Path.Combine(repo, "src", "Ruler", "Ruler.csproj"), "-c", "Release", "-o", Feed);
        Run(repo, packing, "pack", Path.Combine(repo, "src", "Ruler.Cli", "Ruler.Cli.csproj"), "-c", "Release", "-o", Feed,
            $"-p:ToolPackageRuntimeIdentifiers={RuntimeInformation.RuntimeIdentifier}");
        LibraryPackage = Path.Combine(Feed, $"Ruler.{Version}.nupkg");
        Assert.True(File.Exists(LibraryPackage), string.Join(", ", Directory.GetFiles(Feed)));
    }

    public string Root { get; }
    public string Feed { get; }
    public string NuGetConfig { get; }
    public string LibraryPackage { get; }
    /// <summary>The environment of every child process that uses the packages: its own packages folder.</summary>
    public Dictionary<string, string> Isolated { get; }

    /// <summary>Runs <c>dotnet</c> in the isolated environment; fails the test with the output when it exits non-zero.</summary>
    public string Run(string directory, params string[] arguments) => Run(directory, Isolated, arguments);

    private static string Run(string directory, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var (code, output) = Execute(dotnet, directory, arguments, environment);
        Assert.True(code == 0, $"dotnet {string.Join(' ', arguments)} exited {code}:{Environment.NewLine}{output}");
        return output;
    }

    public static (int Code, string Output) Execute(string file, string directory, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ruler.slnx"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return dir!.FullName;
    }
}

/// <summary>The package tests share one feed and run alone: they start builds and restores in child processes.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackageCollection : ICollectionFixture<PackageFeedFixture>
{
    public const string Name = "Packages: pack, install, consume";
}
