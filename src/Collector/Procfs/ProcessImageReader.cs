using System.Text;
using Forkline.Contracts.Events;

namespace Forkline.Collector.Procfs;

/// <summary>What /proc tells about one running thread-group leader, before its parent is resolved.</summary>
internal sealed record ProcessImage(
    int Pid,
    ProcStat Stat,
    ulong StartKtime,
    Credentials Credentials,
    Capabilities Capabilities,
    Namespaces Namespaces,
    uint Auid,
    ulong CgroupId,
    byte[] Filename,
    byte[] Arguments,
    byte[] Cwd);

internal enum ProcessReadOutcome
{
    Read,
    /// <summary>Exited (or its pid was reused) during the scan, or a zombie whose whole group is dead.</summary>
    Vanished,
    Failed,
}

/// <summary>
/// Reads one process from /proc. Files without which the process cannot be described (stat, status,
/// cmdline, cgroup) make the read fail; the others (exe, cwd, ns/*, loginuid) leave their field
/// empty, because they are missing for good reasons: kernel threads have no exe, a group whose
/// leader thread exited keeps no namespaces on the leader, loginuid needs CONFIG_AUDIT.
/// </summary>
internal sealed class ProcessImageReader(string procRoot, string cgroupRoot, Action<string> reportFailure)
{
    private const uint UnsetLoginUid = uint.MaxValue;

    private static readonly string[] NamespaceNames =
        ["uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time", "time_for_children", "cgroup", "user"];

    private readonly ulong _clockTicksPerSecond = (ulong)ProcfsNative.ClockTicksPerSecond();

    public ProcessImage? Read(int pid, out ProcessReadOutcome outcome)
    {
        var leaderDirectory = $"{procRoot}/{pid}";
        try
        {
            var stat = ReadStat(leaderDirectory);
            if (stat.IsZombie && stat.Threads <= 1)
            {
                outcome = ProcessReadOutcome.Vanished;
                return null;
            }
            var imageDirectory = stat.IsZombie ? LiveThreadDirectory(leaderDirectory) : leaderDirectory;
            var (credentials, capabilities) = ProcStatus.Parse(ReadRequired($"{leaderDirectory}/status"));
            var image = new ProcessImage(
                pid, stat, TicksToKtime(stat.StartTicks), credentials, capabilities,
                ReadNamespaces(imageDirectory),
                ReadOptional($"{leaderDirectory}/loginuid") is { } loginUid ? ProcValues.ParseLoginUid(loginUid) : UnsetLoginUid,
                ReadCgroupId(imageDirectory),
                stat.IsKernelThread ? Encoding.UTF8.GetBytes($"[{stat.Comm}]") : ReadLinkOptional($"{imageDirectory}/exe") ?? [],
                ReadRequired($"{imageDirectory}/cmdline"),
                ReadLinkOptional($"{imageDirectory}/cwd") ?? []);

            // Every read above may have raced with an exit and a pid reuse: the image is only
            // trusted when the pid still names the same start afterwards.
            outcome = ReadStat(leaderDirectory).StartTicks == stat.StartTicks ? ProcessReadOutcome.Read : ProcessReadOutcome.Vanished;
            return outcome == ProcessReadOutcome.Read ? image : null;
        }
        catch (ProcessGoneException)
        {
            outcome = ProcessReadOutcome.Vanished;
            return null;
        }
        catch (Exception e) when (e is ProcfsReadException or FormatException)
        {
            reportFailure($"procfs bootstrap skipped pid {pid}: {e.Message}");
            outcome = ProcessReadOutcome.Failed;
            return null;
        }
    }

    /// <summary>/proc/pid/stat starttime is in USER_HZ ticks since boot; BPF ktimes are boot-clock nanoseconds.</summary>
    public ulong TicksToKtime(ulong ticks) => (ulong)((UInt128)ticks * 1_000_000_000UL / _clockTicksPerSecond);

    private ProcStat ReadStat(string directory) => ProcStat.Parse(ReadRequired($"{directory}/stat"));

    /// <summary>A group whose leader thread exited keeps its mm, cwd and namespaces on the other threads.</summary>
    private static string LiveThreadDirectory(string leaderDirectory)
    {
        try
        {
            foreach (var thread in Directory.EnumerateDirectories($"{leaderDirectory}/task"))
            {
                if (!thread.EndsWith($"/{Path.GetFileName(leaderDirectory)}", StringComparison.Ordinal)) return thread;
            }
        }
        catch (DirectoryNotFoundException)
        {
            throw new ProcessGoneException();
        }
        return leaderDirectory;
    }

    private Namespaces ReadNamespaces(string directory)
    {
        Span<uint> inodes = stackalloc uint[NamespaceNames.Length];
        for (var i = 0; i < NamespaceNames.Length; i++)
        {
            inodes[i] = ReadLinkOptional($"{directory}/ns/{NamespaceNames[i]}") is { } link ? ProcValues.ParseNamespaceLink(link) : 0;
        }
        return new Namespaces(inodes[0], inodes[1], inodes[2], inodes[3], inodes[4], inodes[5], inodes[6], inodes[7], inodes[8], inodes[9]);
    }

    /// <summary>bpf_get_current_cgroup_id() is the kernfs id of the cgroup v2 directory, which is its inode number.</summary>
    private ulong ReadCgroupId(string directory)
    {
        var path = ProcValues.UnifiedCgroupPath(ReadRequired($"{directory}/cgroup"));
        if (path is null) return 0;
        var directoryPath = cgroupRoot + path;
        var inode = ProcfsNative.InodeOf(directoryPath);
        if (inode >= 0) return (ulong)inode;
        // ENOENT: the cgroup was removed after the process left it; nothing to name.
        if (-inode != ProcfsNative.ENOENT)
            reportFailure($"procfs bootstrap: stat {directoryPath} failed: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage((int)-inode)}; cgroup id left 0");
        return 0;
    }

    private static byte[] ReadRequired(string path) => ProcFiles.TryRead(path, out var content, out var failure) switch
    {
        ProcFileOutcome.Read => content,
        ProcFileOutcome.Gone => throw new ProcessGoneException(),
        _ => throw new ProcfsReadException(failure),
    };

    private byte[]? ReadOptional(string path) =>
        Optional(ProcFiles.TryRead(path, out var content, out var failure), content, failure);

    private byte[]? ReadLinkOptional(string path) =>
        Optional(ProcFiles.TryReadLink(path, out var target, out var failure), target, failure);

    private byte[]? Optional(ProcFileOutcome outcome, byte[] value, string failure)
    {
        if (outcome == ProcFileOutcome.Failed) reportFailure($"procfs bootstrap: {failure}; field left empty");
        return outcome == ProcFileOutcome.Read ? value : null;
    }

    private sealed class ProcessGoneException : Exception;

    private sealed class ProcfsReadException(string message) : Exception(message);
}
