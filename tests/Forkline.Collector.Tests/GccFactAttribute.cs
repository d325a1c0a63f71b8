namespace Forkline.Collector.Tests;

/// <summary>A fact that needs gcc on PATH; skipped, saying so, when it is missing.</summary>
public sealed class GccFactAttribute : FactAttribute
{
    public GccFactAttribute()
    {
        if (FindGcc() is null)
            Skip = "gcc not found on PATH: the layout parity test compiles bpf/forkline.h with it (apt-get install gcc)";
    }

    public static string? FindGcc()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "gcc");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
