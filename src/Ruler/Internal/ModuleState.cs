namespace Ruler.Internal;

/// <summary>Export and import of a module's state under PyTorch's names, validated in full before anything is written.</summary>
internal static class ModuleState
{
    public const string RunningMean = "running_mean", RunningVar = "running_var", BatchesTracked = "num_batches_tracked";

    public static Dictionary<string, Array> Export<T>(IReadOnlyList<Parameter<T>> parameters, RunningStatistics<T>? running)
        where T : unmanaged
    {
        var state = new Dictionary<string, Array>(StringComparer.Ordinal);
        foreach (var p in parameters) state[p.Name] = p.Value.ToArray();
        if (running is not null)
        {
            state[RunningMean] = running.Mean.ToArray();
            state[RunningVar] = running.Variance.ToArray();
            state[BatchesTracked] = new[] { running.BatchesTracked };
        }
        return state;
    }

    public static void Import<T>(string module, IReadOnlyDictionary<string, Array> state, IReadOnlyList<Parameter<T>> parameters,
        RunningStatistics<T>? running) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(state);
        var targets = new List<(string Name, T[] Target)>();
        foreach (var p in parameters) targets.Add((p.Name, p.Value));
        if (running is not null)
        {
            targets.Add((RunningMean, running.Mean));
            targets.Add((RunningVar, running.Variance));
        }
        var expected = targets.Select(t => t.Name).ToList();
        if (running is not null) expected.Add(BatchesTracked);
        string keys = "{" + string.Join(", ", expected) + "}";
        foreach (var key in state.Keys)
            if (!expected.Contains(key, StringComparer.Ordinal))
                throw Check.Fail(nameof(state), $"only the keys {keys} of this {module}", $"the unexpected key \"{key}\"");
        foreach (var name in expected)
            if (!state.ContainsKey(name))
                throw Check.Fail(nameof(state), $"the keys {keys} of this {module}", $"no key \"{name}\"");
        foreach (var (name, target) in targets)
        {
            var value = state[name];
            if (value is not T[] array || array.Length != target.Length)
                throw Check.Fail($"state[\"{name}\"]", $"{typeof(T).Name}[{target.Length}]", Describe(value));
        }
        long batches = 0;
        if (running is not null)
        {
            var value = state[BatchesTracked];
            if (value is not long[] { Length: 1 } counter || counter[0] < 0)
                throw Check.Fail($"state[\"{BatchesTracked}\"]", "Int64[1] holding a count >= 0", Describe(value));
            batches = counter[0];
        }
        foreach (var (name, target) in targets) ((T[])state[name]).CopyTo(target, 0);
        running?.Restore(batches);
    }

    private static string Describe(Array? value) => value is null
        ? "null"
        : value is long[] { Length: 1 } l ? $"Int64[1] holding {l[0]}"
        : $"{value.GetType().GetElementType()?.Name ?? value.GetType().Name}[{value.Length}]";
}
