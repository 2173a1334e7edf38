using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Ruler.Lab.Runner;

/// <summary>
/// Identifies the code that produced a result: a hash of the module version ids of the library, the engine, the lab
/// and the experiment's own assembly. Builds are deterministic, so the same source gives the same id and any change
/// to these assemblies gives a new one; <c>--resume</c> reuses a result only under the same id.
/// </summary>
public static class CodeVersion
{
    /// <summary>16 hex digits for the code that runs <paramref name="experiment"/>.</summary>
    /// <param name="experiment">The experiment (its assembly is included, so test experiments get their own id).</param>
    public static string Of(IExperiment experiment)
    {
        Assembly[] assemblies = [typeof(RulerSpec).Assembly, typeof(Rng).Assembly, typeof(CodeVersion).Assembly, experiment.GetType().Assembly];
        string ids = string.Join(",", assemblies.Distinct().Select(a => a.ManifestModule.ModuleVersionId.ToString("N")));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(ids)))[..16];
    }
}
