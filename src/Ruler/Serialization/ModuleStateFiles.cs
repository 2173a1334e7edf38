using Ruler.Serialization;

namespace Ruler;

/// <summary>
/// Saves a module's state (<c>StateDict()</c>: parameters and running statistics under PyTorch's names) to a
/// safetensors file and loads it back, so training resumes with the same bits — including
/// <c>num_batches_tracked</c>, the count a BatchNorm with momentum null divides by. The file is what
/// <c>safetensors.torch.save_file(module.state_dict(), path)</c> writes for the same PyTorch layer (1-D tensors,
/// <c>num_batches_tracked</c> a 0-d I64), so state moves both ways; see <see cref="SafeTensorsFile"/>.
/// </summary>
public static class ModuleStateFiles
{
    /// <param name="module">The normalizer (or DyT) whose state is saved or loaded.</param>
    /// <typeparam name="T">Element type (the file's dtype: F32, F64, F16 or BF16).</typeparam>
    extension<T>(Normalizer<T> module) where T : unmanaged
    {
        /// <summary>Writes <c>StateDict()</c> to <paramref name="path"/>, replacing any previous file atomically.</summary>
        /// <param name="path">The file to create or replace.</param>
        /// <param name="prefix">Prepended to every name, e.g. <c>"bn1."</c> to match a layer of a PyTorch model (default none).</param>
        /// <exception cref="IOException">The file cannot be written (any previous file is left as it was).</exception>
        /// <exception cref="InvalidOperationException">Another call on this instance is running.</exception>
        public void SaveState(string path, string prefix = "")
        {
            ArgumentNullException.ThrowIfNull(module);
            SafeTensorsFile.SaveStateDict(path, module.StateDict(), prefix);
        }

        /// <summary>Reads <paramref name="path"/> into the module with <c>LoadStateDict</c>: all of its keys, no other, right types and lengths; all or nothing.</summary>
        /// <param name="path">A file written by <c>SaveState</c> (or by PyTorch's <c>safetensors.torch.save_file</c> for the same layer).</param>
        /// <param name="prefix">Only the tensors whose names start with this are read, without it (default: every tensor).</param>
        /// <exception cref="SafeTensorsException">The file cannot be read, is not a valid safetensors file, or does not hold this module's state (nothing is loaded).</exception>
        /// <exception cref="InvalidOperationException">Another call on this instance is running.</exception>
        public void LoadState(string path, string prefix = "")
        {
            ArgumentNullException.ThrowIfNull(module);
            LoadInto(path, prefix, module.GetType(), module.LoadStateDict);
        }
    }

    /// <param name="module">The fused residual add + norm whose state is saved or loaded.</param>
    /// <typeparam name="T">Element type (the file's dtype: F32, F64, F16 or BF16).</typeparam>
    extension<T>(AddNormalizer<T> module) where T : unmanaged
    {
        /// <summary>Writes <c>StateDict()</c> to <paramref name="path"/>, replacing any previous file atomically.</summary>
        /// <param name="path">The file to create or replace.</param>
        /// <param name="prefix">Prepended to every name (default none).</param>
        /// <exception cref="IOException">The file cannot be written (any previous file is left as it was).</exception>
        /// <exception cref="InvalidOperationException">Another call on this instance is running.</exception>
        public void SaveState(string path, string prefix = "")
        {
            ArgumentNullException.ThrowIfNull(module);
            SafeTensorsFile.SaveStateDict(path, module.StateDict(), prefix);
        }

        /// <summary>Reads <paramref name="path"/> into the module with <c>LoadStateDict</c>; all or nothing.</summary>
        /// <param name="path">A file written by <c>SaveState</c>.</param>
        /// <param name="prefix">Only the tensors whose names start with this are read, without it (default: every tensor).</param>
        /// <exception cref="SafeTensorsException">The file cannot be read, is not a valid safetensors file, or does not hold this module's state (nothing is loaded).</exception>
        /// <exception cref="InvalidOperationException">Another call on this instance is running.</exception>
        public void LoadState(string path, string prefix = "")
        {
            ArgumentNullException.ThrowIfNull(module);
            LoadInto(path, prefix, module.GetType(), module.LoadStateDict);
        }
    }

    /// <summary>Reads the state and hands it to the module's <c>LoadStateDict</c>; a state that does not fit the module is reported as the file's fault.</summary>
    private static void LoadInto(string path, string prefix, Type moduleType, Action<IReadOnlyDictionary<string, Array>> load)
    {
        var state = SafeTensorsFile.LoadStateDict(path, prefix);
        try
        {
            load(state);
        }
        catch (ArgumentException e)
        {
            throw new SafeTensorsException(path, $"the state of this {Internal.AffineState.ModuleName(moduleType)}", e.Message, e);
        }
    }
}
