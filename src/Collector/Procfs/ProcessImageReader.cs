using System.Text;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

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
    ContainerIdentity? Container,
    int NamespacePid,
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

    private static byte[] FirstArgument(byte[] commandLine)
    {
        var end = Array.IndexOf(commandLine, (byte)0);
        return end < 0 ? commandLine : commandLine[..end];
    }
    private const uint UnsetLoginUid = uint.MaxValue;

    private static readonly string[] NamespaceNames =
        ["uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time", "time_for_children", "cgroup", "user"];

    private readonly ulong _clockTicksPerSecond = (ulong)ProcfsNative.ClockTicksPerSecond();

    /// <summary>Optional reads of the current process that failed: (error, file), reported as one line.</summary>
    private readonly List<(string Error, string File)> _fieldFailures = [];

    public ProcessImage? Read(int pid, out ProcessReadOutcome outcome)
    {
        var leaderDirectory = $"{procRoot}/{pid}";
        _fieldFailures.Clear();
        try
        {
            var stat = ReadStat(leaderDirectory);
            if (stat.IsZombie && stat.Threads <= 1)
            {
                outcome = ProcessReadOutcome.Vanished;
                return null;
            }
            var imageDirectory = stat.IsZombie ? LiveThreadDirectory(leaderDirectory) : leaderDirectory;
            var status = ReadRequired($"{leaderDirectory}/status");
            var (credentials, capabilities) = ProcStatus.Parse(status);
            var cgroups = ReadRequired($"{imageDirectory}/cgroup");
            var commandLine = ReadRequired($"{imageDirectory}/cmdline");
            var image = new ProcessImage(
                pid, stat, TicksToKtime(stat.StartTicks), credentials, capabilities,
                ReadNamespaces(imageDirectory),
                ReadOptional($"{leaderDirectory}/loginuid") is { } loginUid ? ProcValues.ParseLoginUid(loginUid) : UnsetLoginUid,
                ReadCgroupId(cgroups),
                ProcValues.Container(cgroups),
                ProcValues.NamespacePid(status),
                // exe can be unreadable (pid 1 in a sandbox): argv[0] still names the binary better than nothing.
                stat.IsKernelThread ? Encoding.UTF8.GetBytes($"[{stat.Comm}]") : ReadLinkOptional($"{imageDirectory}/exe") ?? FirstArgument(commandLine),
                commandLine,
                ReadLinkOptional($"{imageDirectory}/cwd") ?? []);

            // Every read above may have raced with an exit and a pid reuse: the image is only
            // trusted when the pid still names the same start afterwards.
            outcome = ReadStat(leaderDirectory).StartTicks == stat.StartTicks ? ProcessReadOutcome.Read : ProcessReadOutcome.Vanished;
            if (outcome == ProcessReadOutcome.Read && _fieldFailures.Count > 0) ReportFieldFailures(pid, stat.Comm);
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
    private ulong ReadCgroupId(ReadOnlySpan<byte> cgroups)
    {
        var path = ProcValues.UnifiedCgroupPath(cgroups);
        if (path is null) return 0;
        var directoryPath = cgroupRoot + path;
        var inode = ProcfsNative.InodeOf(directoryPath);
        if (inode >= 0) return (ulong)inode;
        // ENOENT: the cgroup was removed after the process left it; nothing to name.
        if (-inode != ProcfsNative.ENOENT) _fieldFailures.Add((ProcFiles.DescribeErrno((int)-inode), $"stat {directoryPath}"));
        return 0;
    }

    private static byte[] ReadRequired(string path) => ProcFiles.TryRead(path, out var content, out var error) switch
    {
        ProcFileOutcome.Read => content,
        ProcFileOutcome.Gone => throw new ProcessGoneException(),
        _ => throw new ProcfsReadException($"reading {path} failed: {error}"),
    };

    private byte[]? ReadOptional(string path) =>
        Optional(ProcFiles.TryRead(path, out var content, out var error), content, error, path);

    private byte[]? ReadLinkOptional(string path) =>
        Optional(ProcFiles.TryReadLink(path, out var target, out var error), target, error, $"readlink {path}");

    private byte[]? Optional(ProcFileOutcome outcome, byte[] value, string error, string what)
    {
        if (outcome == ProcFileOutcome.Failed) _fieldFailures.Add((error, what));
        return outcome == ProcFileOutcome.Read ? value : null;
    }

    /// <summary>One line per process, files grouped by error: ten "Permission denied" namespace links make one entry.</summary>
    private void ReportFieldFailures(int pid, string comm)
    {
        var byError = new Dictionary<string, List<string>>();
        foreach (var (error, file) in _fieldFailures)
        {
            if (!byError.TryGetValue(error, out var files)) byError[error] = files = [];
            files.Add(file);
        }
        var parts = new List<string>(byError.Count);
        foreach (var (error, files) in byError) parts.Add($"{string.Join(", ", files)}: {error}");
        reportFailure($"procfs bootstrap: pid {pid} ({comm}): {string.Join("; ", parts)}; those fields are left empty");
    }

    private sealed class ProcessGoneException : Exception;

    private sealed class ProcfsReadException(string message) : Exception(message);
}
