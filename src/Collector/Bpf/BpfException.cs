namespace Forkline.Collector.Bpf;

/// <summary>
/// The collector could not set up or run its BPF side. Message is one line: what failed, the value
/// that made it fail, and the fix.
/// </summary>
public sealed class BpfException : Exception
{
    public BpfException(string message, int error = 0) : base(message) => Error = Math.Abs(error);

    /// <summary>errno (or libbpf code >= 4000) behind the failure; 0 when no call failed (preflight).</summary>
    public int Error { get; }
}
