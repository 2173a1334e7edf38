namespace Ruler.Cli.Inspect;

/// <summary>
/// A problem with what the user gave `ruler inspect` (the model file, an input file, an option): its message is
/// the one line printed on stderr, and it names the file or option and what was wrong.
/// </summary>
internal sealed class InspectException(string message) : Exception(message);
