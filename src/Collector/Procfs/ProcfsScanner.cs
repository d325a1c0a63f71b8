using System.Globalization;
using Forkline.Collector.Decoding;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Export;
using Microsoft.Extensions.Logging;

namespace Forkline.Collector.Procfs;

/// <summary>
/// Describes every process running now as a synthetic exec record, so that events of processes that
/// predate the collector have lineage. Start = /proc/pid/stat starttime converted to boot-clock ns,
/// the same clock BPF stamps; parent = ppid with the parent's own start.
/// Zombies whose whole group exited are left out: they are dead and no later event names them.
/// One scan at a time per instance.
/// </summary>
public sealed class ProcfsScanner
{
    /// <summary>Read failures reported one by one before the rest is only summed up.</summary>
    private const int ReportedFailuresMax = 20;

    private readonly string _procRoot;
    private readonly ILogger? _logger;
    private readonly ProcessImageReader _reader;
    private int _errors;

    public ProcfsScanner(string procRoot = "/proc", string cgroupRoot = "/sys/fs/cgroup", ILogger? logger = null)
    {
        _procRoot = procRoot;
        _logger = logger;
        _reader = new ProcessImageReader(procRoot, UnifiedHierarchy(cgroupRoot), CountFailure);
    }

    /// <summary>On a hybrid cgroup v1 + v2 host, the v2 hierarchy (the one BPF cgroup ids name) is mounted at unified/.</summary>
    private static string UnifiedHierarchy(string cgroupRoot) =>
        !File.Exists(Path.Combine(cgroupRoot, "cgroup.controllers")) && File.Exists(Path.Combine(cgroupRoot, "unified", "cgroup.controllers"))
            ? Path.Combine(cgroupRoot, "unified")
            : cgroupRoot;

    /// <param name="storedIdentities">
    /// When given, processes the host's stored tree already knows keep the start it stored (the exec of
    /// their image, never earlier than the fork /proc gives); the others get the /proc start.
    /// </param>
    public ProcfsScan Scan(StoredIdentities? storedIdentities = null)
    {
        _errors = 0;
        var images = new Dictionary<int, ProcessImage>();
        int vanished = 0, skipped = 0;
        foreach (var pid in ListThreadGroupIds())
        {
            var image = _reader.Read(pid, out var outcome);
            if (image is not null) images[pid] = image;
            else if (outcome == ProcessReadOutcome.Vanished) vanished++;
            else skipped++;
        }
        if (_errors > ReportedFailuresMax)
            _logger?.LogWarning("procfs bootstrap: {Hidden} more read failures not shown ({Failures} in all)", _errors - ReportedFailuresMax, _errors);

        if (storedIdentities is not null) Adopt(images, storedIdentities);
        var processes = new List<ProcfsProcess>(images.Count);
        foreach (var image in ParentsFirst(images))
            processes.Add(Describe(image, images));
        return new ProcfsScan(processes, vanished, skipped, _errors);
    }

    private static void Adopt(Dictionary<int, ProcessImage> images, StoredIdentities storedIdentities)
    {
        var scanned = new List<ProcessKey>(images.Count);
        foreach (var image in images.Values) scanned.Add(new ProcessKey(image.Pid, image.StartKtime));
        foreach (var (pid, storedStart) in storedIdentities(scanned))
        {
            // An image starts at its thread group's fork or later; an earlier start names another process.
            if (images.TryGetValue(pid, out var image) && storedStart >= image.StartKtime)
                images[pid] = image with { StartKtime = storedStart };
        }
    }

    /// <summary>/proc lists thread-group leaders only; threads live under /proc/pid/task.</summary>
    private List<int> ListThreadGroupIds()
    {
        var pids = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories(_procRoot))
        {
            if (int.TryParse(Path.GetFileName(directory.AsSpan()), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                pids.Add(pid);
        }
        return pids;
    }

    /// <summary>
    /// Sorted by start then pid, and each parent moved before its children: equal starts (one tick is
    /// 10 ms) with a wrapped pid would otherwise put a child first.
    /// </summary>
    private static List<ProcessImage> ParentsFirst(Dictionary<int, ProcessImage> images)
    {
        var byStart = new List<ProcessImage>(images.Values);
        byStart.Sort(static (a, b) => a.StartKtime != b.StartKtime ? a.StartKtime.CompareTo(b.StartKtime) : a.Pid.CompareTo(b.Pid));
        var ordered = new List<ProcessImage>(byStart.Count);
        var placed = new HashSet<int>();
        var ancestors = new Stack<ProcessImage>();
        foreach (var image in byStart)
        {
            for (var current = image;
                 current is not null && !placed.Contains(current.Pid) && ancestors.Count <= images.Count;
                 current = images.GetValueOrDefault(current.Stat.Ppid))
            {
                ancestors.Push(current);
            }
            while (ancestors.TryPop(out var next))
            {
                if (placed.Add(next.Pid)) ordered.Add(next);
            }
        }
        return ordered;
    }

    private static ProcfsProcess Describe(ProcessImage image, Dictionary<int, ProcessImage> images)
    {
        var flags = ExecFlags.Procfs;
        var parent = ProcessKey.None;
        if (image.Stat.Ppid != 0)
        {
            if (images.TryGetValue(image.Stat.Ppid, out var parentImage))
            {
                parent = new ProcessKey(parentImage.Pid, parentImage.StartKtime);
            }
            else
            {
                parent = new ProcessKey(image.Stat.Ppid, 0);
                flags |= ExecFlags.ParentUnknown;
            }
        }

        var fields = new ExecRecordFields(
            image.Pid, image.Pid, image.StartKtime, parent, ProcessKey.None,
            image.Credentials, image.Capabilities, image.Namespaces, image.Auid, image.CgroupId, flags,
            image.Container, new ExecDetails(SecureBits: 0, UserNamespace: null, image.NamespacePid, File: default));
        var record = new byte[RecordEncoder.ExecRecordSize];
        RecordEncoder.WriteExec(record, fields, image.Filename, image.Arguments, image.Cwd);
        return new ProcfsProcess(new LiveLeaderSeed(image.Pid, image.StartKtime, parent), image.Stat.IsKernelThread, record);
    }

    /// <remarks>
    /// Every read failure passes here, and its message may quote what a process chose to call itself
    /// (its comm in /proc/pid/stat, a path): escaped like every text view, so it cannot forge or end a log line.
    /// </remarks>
    private void CountFailure(string message)
    {
        _errors++;
        if (_errors <= ReportedFailuresMax) _logger?.LogWarning("{Failure}", TerminalText.Escape(message));
    }
}
