using System.Runtime.InteropServices;

namespace Forkline.Hosting;

/// <summary>
/// What a long-running node needs in its environment before the runtime's first thread, and the restart that puts it
/// there: this process starts again, in place (execve: same pid, arguments and open standard streams), with the
/// variables it lacks. A variable already set stands (an operator's own value); client commands end too soon to care.
/// </summary>
public static partial class NodeRestart
{
    /// <summary>The runtime's switch for tiered compilation, read once at its start.</summary>
    public const string TieredCompilationVariable = "DOTNET_TieredCompilation";

    /// <summary>
    /// The variables a node of <paramref name="command"/> starts with; none for a command that is not a node.
    /// Every node keeps glibc's malloc to <see cref="NativeHeap.Arenas"/> arenas. The host agents (run, collector,
    /// collector-node) run their ReadyToRun code as it is, without tiered compilation: their work comes in bursts, and
    /// recompiling what each burst ran hot cost more than it saved (bench figures Cost: `run` 493 -> 253 us CPU per
    /// process of a storm, 1.43 -> 0.60 % of a core in the minute after it). A gateway under a fleet's steady load is
    /// better served by the recompiled code: without it the fleet simulation's three gateways took 115 % of a core instead
    /// of 106 % for the same 5,000 processes/s, and after a kill -9 the two left never caught up (2 of 2 runs).
    /// </summary>
    public static IReadOnlyList<(string Name, string Value)> VariablesFor(string command, bool glibc)
    {
        if (command is not ("run" or "collector" or "collector-node" or "gateway")) return [];
        var variables = new List<(string Name, string Value)>();
        if (glibc) variables.Add((NativeHeap.ArenaMaxVariable, NativeHeap.Arenas.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (command != "gateway") variables.Add((TieredCompilationVariable, "0"));
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
