using System.Diagnostics;
using System.Globalization;

namespace Forkline.Cluster.Tests;

/// <summary>
/// One marked chain as the kernel numbered it: the shell this test started (<see cref="Process.Id"/>),
/// the subshell that shell forked and the inner shell that subshell started (both printed by the inner
/// shell: its $$ and $PPID).
/// </summary>
public sealed record MarkedChain(string Marker, DateTime StartedUtc, int ShellPid, int SubshellPid, int InnerPid);

/// <summary>
/// Short, uniquely marked process chains started from this test process at a steady pace, so a test
/// knows from the kernel's own numbering every process it made, who started whom, and how each ended.
/// Each chain is a fork-and-exec (the shell), a fork that never execs (the subshell) and a fork-and-exec
/// below that fork (the inner shell); every one carries the marker in its arguments.
/// </summary>
public static class MarkedShellChains
{
    /// <summary>
    /// The subshell is not the shell's last command, so the shell must fork it; the inner shell is not
    /// the subshell's last command, so the subshell forks it too instead of exec'ing in place. $0 is the
    /// marker, passed on as the inner shell's $0.
    /// </summary>
    private const string Script = "(/bin/sh -c 'echo $$ $PPID' \"$0\"; exit 3); exit 0";

    /// <summary>The shell, its subshell, the subshell's fork and the inner shell that fork becomes.</summary>
    public const int ProcessesPerChain = 4;

    /// <summary>Shell: exec, exit. Subshell: clone, exit. Its fork: clone (its exec replaces it). Inner shell: exec, exit.</summary>
    public const int EventsPerChain = 7;

    public const int ShellExitStatus = 0;
    public const int SubshellExitStatus = 3;
    public const int InnerExitStatus = 0;

    /// <summary>Runs chains one after another, <paramref name="pause"/> apart, until <paramref name="stop"/>.</summary>
    public static async Task<List<MarkedChain>> RunUntilStoppedAsync(string markerPrefix, TimeSpan pause, CancellationToken stop)
    {
        var chains = new List<MarkedChain>();
        while (!stop.IsCancellationRequested)
        {
            chains.Add(await RunOneAsync($"{markerPrefix}-{chains.Count:D4}"));
            try
            {
                await Task.Delay(pause, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
        }
        return chains;
    }

    private static async Task<MarkedChain> RunOneAsync(string marker)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-c", Script, marker }) start.ArgumentList.Add(argument);
        var startedUtc = DateTime.UtcNow;
        using var shell = Process.Start(start) ?? throw new InvalidOperationException($"could not start /bin/sh for {marker}");
        var output = await shell.StandardOutput.ReadToEndAsync();
        var errors = await shell.StandardError.ReadToEndAsync();
        await shell.WaitForExitAsync();
        var pids = output.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (shell.ExitCode != ShellExitStatus || pids.Length != 2)
            throw new InvalidOperationException($"marked chain {marker} did not run as written: exit {shell.ExitCode}, output '{output.Trim()}', errors '{errors.Trim()}'");
        return new MarkedChain(marker, startedUtc, shell.Id,
            SubshellPid: int.Parse(pids[1], CultureInfo.InvariantCulture), InnerPid: int.Parse(pids[0], CultureInfo.InvariantCulture));
    }
}
