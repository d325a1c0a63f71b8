using System.Globalization;
using Forkline.Collector.Decoding;
using Forkline.Collector.Procfs;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Testing;

namespace Forkline.Collector.Tests;

/// <summary>
/// The bootstrap against a /proc tree built in a temporary directory, to reach the cases a live
/// system rarely shows on demand: pid wrap, zombies, vanishing processes, malformed files.
/// </summary>
public sealed class ProcfsFakeTreeTests : IDisposable
{
    private const uint KernelThreadFlag = 0x00200000;

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("forkline-fakeproc-");
    private readonly CapturingLogger _reports = new();

    private string ProcRoot => Path.Combine(_root.FullName, "proc");

    private string CgroupRoot => Path.Combine(_root.FullName, "cgroup");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public void Every_field_of_the_exec_record_comes_from_its_proc_file()
    {
        AddProcess(1, ppid: 0, startTicks: 1, comm: "init");
        AddProcess(
            300, ppid: 1, startTicks: 12_345, comm: "wei)rd (name",
            status: "Name:\tx\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nCapInh:\t0000000000000001\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000002000\n",
            cmdline: "python3\0-c\0\0print(1)\0", exe: "/usr/bin/python3.11", cwd: "/srv", loginuid: "1000\n",
            cgroupPath: "/system.slice/app.service");

        var scan = Scan();

        var exec = DecodeExec(scan, 300);
        Assert.Equal(new ProcessKey(300, 12_345 * FlConstants.ProcfsTickNs), exec.Key);
        Assert.Equal(new ProcessKey(1, FlConstants.ProcfsTickNs), exec.Parent);
        Assert.Equal(ExecFlags.Procfs, exec.Flags);
        Assert.Equal("/usr/bin/python3.11", exec.Filename);
        Assert.Equal(["python3", "-c", "", "print(1)"], exec.Arguments.AsEnumerable());
        Assert.Equal("/srv", exec.Cwd);
        Assert.Equal(new Credentials(1, 5, 2, 6, 3, 7, 4, 8), exec.Credentials);
        Assert.Equal(new Capabilities(0x1ff_ffff_ffff, 0x2000, 1), exec.Capabilities);
        Assert.Equal(new Namespaces(301, 302, 303, 304, 305, 306, 307, 308, 309, 310), exec.Namespaces);
        Assert.Equal(1000u, exec.Auid);
        Assert.Equal(FileInodes.Of(Path.Combine(CgroupRoot, "system.slice/app.service")), exec.CgroupId);
        Assert.Empty(_reports);
    }

    [Fact]
    public void A_parent_is_emitted_before_its_child_even_when_a_wrapped_pid_sorts_the_child_first()
    {
        AddProcess(1, ppid: 0, startTicks: 1);
        AddProcess(32_000, ppid: 1, startTicks: 500);
        AddProcess(17, ppid: 32_000, startTicks: 500);
        AddProcess(16, ppid: 17, startTicks: 500);

        var order = Scan().Processes.Select(p => p.Seed.Pid).ToArray();

        Assert.Equal([1, 32_000, 17, 16], order);
    }

    [Fact]
    public void A_process_whose_parent_was_not_found_is_flagged_parent_unknown()
    {
        AddProcess(1, ppid: 0, startTicks: 1);
        AddProcess(50, ppid: 49, startTicks: 100);

        var exec = DecodeExec(Scan(), 50);

        Assert.Equal(new ProcessKey(49, 0), exec.Parent);
        Assert.Equal(ExecFlags.Procfs | ExecFlags.ParentUnknown, exec.Flags);
    }

    [Fact]
    public void A_kernel_thread_is_named_by_its_comm_in_brackets_with_no_arguments()
    {
        AddProcess(2, ppid: 0, startTicks: 1, comm: "kthreadd", flags: KernelThreadFlag, cmdline: "", exe: null);

        var scan = Scan();

        var exec = DecodeExec(scan, 2);
        Assert.True(scan.Processes.Single().IsKernelThread);
        Assert.Equal("[kthreadd]", exec.Filename);
        Assert.Empty(exec.Arguments);
        Assert.Equal(0, scan.Errors);
    }

    [Fact]
    public void A_zombie_whose_whole_group_exited_is_left_out_as_vanished()
    {
        AddProcess(1, ppid: 0, startTicks: 1);
        AddProcess(60, ppid: 1, startTicks: 100, state: 'Z', threads: 1, exe: null, cmdline: "");

        var scan = Scan();

        Assert.DoesNotContain(scan.Processes, p => p.Seed.Pid == 60);
        Assert.Equal(1, scan.Vanished);
        Assert.Equal(0, scan.Errors);
    }

    [Fact]
    public void A_group_whose_leader_thread_exited_is_described_from_a_live_thread()
    {
        AddProcess(1, ppid: 0, startTicks: 1);
        AddProcess(70, ppid: 1, startTicks: 100, state: 'Z', threads: 3, exe: null, cmdline: "");
        Directory.CreateDirectory(Path.Combine(ProcRoot, "70", "task", "70"));
        AddProcessFiles(Path.Combine(ProcRoot, "70", "task", "72"), 72,
            cmdline: "server\0--port\0", exe: "/usr/sbin/server", cwd: "/var/lib/server");

        var exec = DecodeExec(Scan(), 70);

        Assert.Equal("/usr/sbin/server", exec.Filename);
        Assert.Equal(["server", "--port"], exec.Arguments.AsEnumerable());
        Assert.Equal("/var/lib/server", exec.Cwd);
        Assert.Equal(72u + 1, exec.Namespaces.Uts);
    }

    [Fact]
    public void A_process_that_vanishes_mid_scan_is_skipped_without_an_error()
    {
        AddProcess(1, ppid: 0, startTicks: 1);
        AddProcess(80, ppid: 1, startTicks: 100);
        File.Delete(Path.Combine(ProcRoot, "80", "status"));

        var scan = Scan();

        Assert.DoesNotContain(scan.Processes, p => p.Seed.Pid == 80);
        Assert.Equal(1, scan.Vanished);
        Assert.Equal(0, scan.Errors);
        Assert.Empty(_reports);
    }

    [Fact]
    public void Missing_optional_files_leave_their_fields_empty_and_an_unreadable_exe_falls_back_to_argv0()
    {
        AddProcess(1, ppid: 0, startTicks: 1, loginuid: null, exe: null);
        Directory.Delete(Path.Combine(ProcRoot, "1", "ns"), recursive: true);

        var exec = DecodeExec(Scan(), 1);

        Assert.Equal(uint.MaxValue, exec.Auid);
        Assert.Equal(exec.Arguments[0], exec.Filename);
        Assert.Equal(default, exec.Namespaces);
        Assert.Empty(_reports);
    }

    [Fact]
    public void A_malformed_stat_skips_the_process_and_reports_which_one_and_why()
    {
        AddProcess(1, ppid: 0, startTicks: 1);
        AddProcess(90, ppid: 1, startTicks: 100);
        File.WriteAllText(Path.Combine(ProcRoot, "90", "stat"), "90 (x) R 1 not-a-number");

        var scan = Scan();

        Assert.Equal(1, scan.Skipped);
        Assert.Equal(1, scan.Errors);
        var report = Assert.Single(_reports);
        Assert.Contains("pid 90", report);
        Assert.Contains("starttime is field 22", report);
    }

    [Fact]
    public void A_failure_report_quoting_a_hostile_comm_escapes_it_so_it_cannot_forge_a_log_line_or_talk_to_the_terminal()
    {
        AddProcess(1, ppid: 0, startTicks: 1);
        AddProcess(91, ppid: 1, startTicks: 100);
        // No ')' after the '(': the report quotes the whole stat, comm included.
        File.WriteAllText(Path.Combine(ProcRoot, "91", "stat"), "91 (x\n15:00:00.000 exec pid=1 /bin/fake\u001b[2J\u001b]0;owned\u0007 R 1");

        Scan();

        var report = Assert.Single(_reports);
        Assert.DoesNotContain('\n', report);
        Assert.DoesNotContain('\u001b', report);
        Assert.DoesNotContain('\u0007', report);
        Assert.Contains(@"(x\n15:00:00.000 exec pid=1 /bin/fake\x1b[2J\x1b]0;owned\x07 R 1", report);
    }

    private ProcfsScan Scan() => new ProcfsScanner(ProcRoot, CgroupRoot, _reports).Scan();

    private static ExecEvent DecodeExec(ProcfsScan scan, int pid) =>
        Assert.IsType<ExecEvent>(new RecordDecoder([], new DecodeCounters())
            .Decode(scan.Processes.Single(p => p.Seed.Pid == pid).ExecRecord.Span));

    private string AddProcess(
        int pid, int ppid, ulong startTicks, string comm = "proc", char state = 'S', int threads = 1, uint flags = 0,
        string? status = null, string cmdline = "proc\0", string? exe = "/usr/bin/proc", string cwd = "/",
        string? loginuid = "4294967295\n", string cgroupPath = "/")
    {
        var directory = AddProcessFiles(Path.Combine(ProcRoot, pid.ToString(CultureInfo.InvariantCulture)), pid, cmdline, exe, cwd, cgroupPath);
        File.WriteAllText(Path.Combine(directory, "stat"), Stat(pid, comm, state, ppid, flags, threads, startTicks));
        File.WriteAllText(Path.Combine(directory, "status"),
            status ?? "Name:\tproc\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n");
        if (loginuid is not null) File.WriteAllText(Path.Combine(directory, "loginuid"), loginuid);
        return directory;
    }

    /// <summary>The per-image files (also those of a thread under task/): cmdline, exe, cwd, ns/*, cgroup.</summary>
    private string AddProcessFiles(string directory, int pid, string cmdline, string? exe, string cwd, string cgroupPath = "/")
    {
        Directory.CreateDirectory(Path.Combine(directory, "ns"));
        File.WriteAllText(Path.Combine(directory, "cmdline"), cmdline);
        if (exe is not null) File.CreateSymbolicLink(Path.Combine(directory, "exe"), exe);
        File.CreateSymbolicLink(Path.Combine(directory, "cwd"), cwd);
        string[] namespaces = ["uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time", "time_for_children", "cgroup", "user"];
        for (var i = 0; i < namespaces.Length; i++)
            File.CreateSymbolicLink(Path.Combine(directory, "ns", namespaces[i]), $"{namespaces[i]}:[{pid + 1 + i}]");
        Directory.CreateDirectory(CgroupRoot + cgroupPath);
        File.WriteAllText(Path.Combine(directory, "cgroup"), $"0::{cgroupPath}\n");
        return directory;
    }

    /// <summary>A /proc/pid/stat line: fields 1..22 with the ones the scanner reads filled in.</summary>
    private static string Stat(int pid, string comm, char state, int ppid, uint flags, int threads, ulong startTicks)
    {
        var fields = new string[22];
        Array.Fill(fields, "0");
        fields[0] = pid.ToString(CultureInfo.InvariantCulture);
        fields[1] = $"({comm})";
        fields[2] = state.ToString();
        fields[3] = ppid.ToString(CultureInfo.InvariantCulture);
        fields[8] = flags.ToString(CultureInfo.InvariantCulture);
        fields[19] = threads.ToString(CultureInfo.InvariantCulture);
        fields[21] = startTicks.ToString(CultureInfo.InvariantCulture);
        return string.Join(' ', fields) + " 0 0 0\n";
    }
}
