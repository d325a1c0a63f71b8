using System.Globalization;
using System.Runtime.InteropServices;

namespace Forkline.Hosting;

/// <summary>
/// What a long-running node needs in its environment before the runtime's first thread, and the restart that puts it
/// there: this process starts again, in place (execve: same pid, arguments and open standard streams), with the
/// variables it lacks. A variable already set stands (an operator's own value); client commands end too soon to care.
/// </summary>
public static partial class NodeRestart
{
    /// <summary>How many calls make a method hot enough for the runtime to compile it again, optimized (tier 1); read once at its start.</summary>
    public const string CallCountThresholdVariable = "DOTNET_TC_CallCountThreshold";

    /// <summary>How long the runtime waits, after it last compiled a method for the first time, before it counts calls at all.</summary>
    public const string CallCountingDelayVariable = "DOTNET_TC_CallCountingDelayMs";

    /// <summary>
    /// A node's threshold, against the runtime's 30: the ReadyToRun code of what a timer or a rare path runs a few dozen
    /// times stays as it is, and what an event runs is compiled again within the first few hundred events. At 5,000 (the
    /// node's threshold before) the paths an event batch runs (the journal's writes, the projection's statements) took tens
    /// of thousands of events to cross it, so a node kept recompiling, and ran slower code meanwhile, for minutes of load:
    /// by hand, `forkline run` under storms of 3,000 processes one after the other, CPU per process of each storm
    /// 366-370, 213-246, 180-230, 163-206 us at 5,000 against 336-376, 173-180, 153-160, 146-180 us at 300 (with no
    /// delay), at a start of 1.2-1.5 s of CPU either way; the runtime's 30 took 516-596 us in the first storm (2.1-2.9 s
    /// at start without the delay); idle after a storm the same (0.40 / 0.35 % of a core against 0.43 / 0.35 %).
    /// </summary>
    public const int CallCountThreshold = 300;

    /// <summary>
    /// No delay (the runtime's is 100 ms): under a steady flow of events something new is compiled every few
    /// milliseconds, and each of those put the counting of every hot method off again, so nothing was recompiled until the
    /// flow paused.
    /// </summary>
    public const int CallCountingDelayMilliseconds = 0;

    /// <summary>
    /// The variables a node of <paramref name="command"/> starts with; none for a command that is not a node: glibc's
    /// malloc kept to <see cref="NativeHeap.Arenas"/> arenas, <see cref="CallCountThreshold"/> and <see cref="CallCountingDelayMilliseconds"/>.
    /// </summary>
    public static IReadOnlyList<(string Name, string Value)> VariablesFor(string command, bool glibc)
    {
        if (command is not ("run" or "collector" or "collector-node" or "gateway")) return [];
        var variables = new List<(string Name, string Value)>();
        if (glibc) variables.Add((NativeHeap.ArenaMaxVariable, NativeHeap.Arenas.ToString(CultureInfo.InvariantCulture)));
        variables.Add((CallCountThresholdVariable, CallCountThreshold.ToString(CultureInfo.InvariantCulture)));
        variables.Add((CallCountingDelayVariable, CallCountingDelayMilliseconds.ToString(CultureInfo.InvariantCulture)));
        return variables;
    }

    /// <summary>
    /// Starts this process again with those of <paramref name="variables"/> that are not set yet. Returns only when none
    /// was missing (null) or the restart failed (the reason, for one line on stderr: the node then runs without them).
    /// </summary>
    public static string? WithEnvironment(IReadOnlyList<(string Name, string Value)> variables)
    {
        var missing = new List<string>();
        foreach (var (name, value) in variables)
            if (Environment.GetEnvironmentVariable(name) is null) missing.Add($"{name}={value}");
        if (missing.Count == 0) return null;
        var wanted = string.Join(" ", missing);
        // The runtime listens for diagnostics (dotnet-counters, dotnet-trace) on a socket named by pid and start time, both
        // kept across execve: the file stays behind, and the next runtime, finding it, would listen on none.
        try
        {
            foreach (var socket in Directory.EnumerateFiles(Path.GetTempPath(), $"dotnet-diagnostic-{Environment.ProcessId}-*-socket"))
                File.Delete(socket);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"did not start again with {wanted}: its diagnostics socket could not be removed ({e.Message}); it runs without them";
        }
        var (argumentBlock, argv) = ToNative(File.ReadAllBytes("/proc/self/cmdline"), []);
        var (environmentBlock, envp) = ToNative(File.ReadAllBytes("/proc/self/environ"), missing);
        Execve("/proc/self/exe", argv, envp);
        var error = Marshal.GetLastPInvokeErrorMessage();
        Marshal.FreeHGlobal(argumentBlock);
        Marshal.FreeHGlobal(environmentBlock);
        return $"could not start again with {wanted} ({error}); it runs without them";
    }

    /// <summary>
    /// A /proc list (each item ends with a NUL), with <paramref name="appended"/> after it, in one native block, and the
    /// NULL-ended array of pointers to its items that execve takes.
    /// </summary>
    private static (nint Block, nint[] Items) ToNative(byte[] list, List<string> appended)
    {
        // A process may have rewritten its last argument without the NUL.
        var unterminated = list.Length > 0 && list[^1] != 0 ? 1 : 0;
        var tail = System.Text.Encoding.UTF8.GetBytes(string.Concat(appended.Select(item => item + "\0")));
        var bytes = new byte[list.Length + unterminated + tail.Length];
        list.CopyTo(bytes, 0);
        tail.CopyTo(bytes, list.Length + unterminated);
        var block = Marshal.AllocHGlobal(bytes.Length);
        Marshal.Copy(bytes, 0, block, bytes.Length);
        var items = new List<nint>();
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != 0) continue;
            items.Add(block + start);
            start = i + 1;
        }
        items.Add(0);
        return (block, [.. items]);
    }

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Execve(string path, nint[] argv, nint[] envp);
}
