using System.Globalization;
using System.Text;
using Forkline.Collector.Decoding;
using Forkline.Collector.Procfs;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Xunit.Abstractions;
using Forkline.Testing;

namespace Forkline.Collector.Tests;

/// <summary>The bootstrap against the real /proc of this machine.</summary>
public sealed class ProcfsScannerTests(ITestOutputHelper output)
{
    private readonly CapturingLogger _reports = new();

    [Fact]
    public void Scanning_proc_finds_this_test_process_and_its_ancestors_up_to_init_parents_first()
    {
        var scan = new ProcfsScanner(logger: _reports).Scan();

        var byPid = new Dictionary<int, (int Index, ProcfsProcess Process)>();
        for (var i = 0; i < scan.Processes.Count; i++) byPid[scan.Processes[i].Seed.Pid] = (i, scan.Processes[i]);
        var self = byPid[Environment.ProcessId].Process;
        var (ppid, startTicks) = ReadOwnStat();
        Assert.Equal(new ProcessKey(Environment.ProcessId, startTicks * FlConstants.ProcfsTickNs), self.Seed.Key);
        Assert.Equal(ppid, self.Seed.Parent.Pid);

        var chain = new List<int>();
        for (var current = self; current.Seed.Parent.Pid != 0; current = byPid[current.Seed.Parent.Pid].Process)
        {
            var (parentIndex, parent) = byPid[current.Seed.Parent.Pid];
            Assert.Equal(parent.Seed.Key, current.Seed.Parent);
            Assert.True(parentIndex < byPid[current.Seed.Pid].Index, $"parent {parent.Seed.Key} comes after its child {current.Seed.Key}");
            chain.Add(parent.Seed.Pid);
        }
        Assert.Equal(1, chain[^1]);
        // Unreadable fields of other processes (e.g. ns links of a pid 1 we may not ptrace) are
        // reported, not fatal; show them for whoever reads the log.
        foreach (var report in _reports) output.WriteLine(report);
    }

    [Fact]
    public void The_exec_record_of_this_process_describes_it_as_proc_does()
    {
        var self = new ProcfsScanner().Scan().Processes.Single(p => p.Seed.Pid == Environment.ProcessId);

        var exec = Assert.IsType<ExecEvent>(new RecordDecoder([], new DecodeCounters()).Decode(self.ExecRecord.Span));

        Assert.Equal(self.Seed.Key, exec.Key);
        Assert.Equal(self.Seed.Parent, exec.Parent);
        Assert.Equal(exec.Pid, exec.Tid);
        Assert.Equal(ProcessKey.None, exec.Replaced);
        Assert.Equal(ExecFlags.Procfs, exec.Flags);
        Assert.Equal(File.ResolveLinkTarget("/proc/self/exe", returnFinalTarget: false)!.FullName, exec.Filename);
        Assert.Equal(Directory.ResolveLinkTarget("/proc/self/cwd", returnFinalTarget: false)!.FullName, exec.Cwd);
        var commandLine = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0');
        Assert.Equal(commandLine, exec.Arguments.AsEnumerable());
        Assert.Equal(ReadOwnUid(), exec.Credentials.Uid);
        var cgroupPath = File.ReadAllLines("/proc/self/cgroup").FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..];
        Assert.Equal(cgroupPath is null ? 0 : FileInodes.Of("/sys/fs/cgroup" + cgroupPath), exec.CgroupId);
        Assert.NotEqual(0u, exec.Namespaces.Mnt);
        Assert.NotEqual(0u, exec.Namespaces.Pid);
        Assert.False(self.IsKernelThread);
    }

    [KthreaddVisibleFact]
    public void Kernel_threads_are_included_with_their_name_in_brackets_and_no_arguments()
    {
        var kthreadd = new ProcfsScanner().Scan().Processes.Single(p => p.Seed.Pid == 2);

        var exec = Assert.IsType<ExecEvent>(new RecordDecoder([], new DecodeCounters()).Decode(kthreadd.ExecRecord.Span));

        Assert.True(kthreadd.IsKernelThread);
        Assert.Equal("[kthreadd]", exec.Filename);
        Assert.Empty(exec.Arguments);
        Assert.Equal(ProcessKey.None, exec.Parent);
    }

    [Fact]
    public void Seeds_become_live_leader_map_values_flagged_as_seeded()
    {
        var seed = new LiveLeaderSeed(42, 123_000_000, new ProcessKey(7, 5_000_000));

        var leader = seed.ToLeader();

        Assert.Equal(123_000_000ul, leader.StartKtime);
        Assert.Equal(7u, leader.Parent.Pid);
        Assert.Equal(5_000_000ul, leader.Parent.StartKtime);
        Assert.Equal((uint)FlLeaderFlags.Seeded, leader.Flags);
    }

    private static (int Ppid, ulong StartTicks) ReadOwnStat()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (int.Parse(fields[1], CultureInfo.InvariantCulture), ulong.Parse(fields[19], CultureInfo.InvariantCulture));
    }

    private static uint ReadOwnUid()
    {
        var line = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        return uint.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}

/// <summary>A fact that needs the host's kernel threads in view (pid 2 is kthreadd outside a pid namespace).</summary>
public sealed class KthreaddVisibleFactAttribute : FactAttribute
{
    public KthreaddVisibleFactAttribute()
    {
        if (!File.Exists("/proc/2/stat") || !File.ReadAllText("/proc/2/stat").Contains("(kthreadd)", StringComparison.Ordinal))
            Skip = "pid 2 is not kthreadd here (running in a pid namespace?): kernel threads are not visible";
    }
}
