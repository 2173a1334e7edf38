namespace Ruler.Tests;

/// <summary>
/// The backends every fast-path test runs on, by name (theory data are names so each backend is its own test case).
/// A new backend joins the tests by being added to <see cref="All"/>: the fast paths against the float64 reference
/// at every SIMD tail, the thread-count bit checks, the narrow-storage ulp bounds and the allocation checks.
/// </summary>
internal static class TestBackends
{
    public static IReadOnlyList<IRulerBackend> All { get; } = [CpuBackend.Instance];

    public static IRulerBackend Get(string name) =>
        All.SingleOrDefault(b => b.Name == name) ?? throw new ArgumentException($"No test backend named {name}.", nameof(name));

    /// <summary>One row per backend.</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var b in All) data.Add(b.Name);
        return data;
    }

    /// <summary>One row per backend and value.</summary>
    public static TheoryData<string, TValue> Cross<TValue>(IEnumerable<TValue> values)
    {
        var data = new TheoryData<string, TValue>();
        foreach (var b in All)
            foreach (var v in values)
                data.Add(b.Name, v);
        return data;
    }
}
