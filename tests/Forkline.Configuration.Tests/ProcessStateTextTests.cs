using Forkline.Client;
using Forkline.Contracts.Api;
using Google.Protobuf.WellKnownTypes;

namespace Forkline.Configuration.Tests;

/// <summary>How `ps`, `tree`, `lineage` and the event lines say a process stands.</summary>
public sealed class ProcessStateTextTests
{
    private static readonly DateTime Start = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static Process Ended(ProcessEnd end, int? status = null, int signal = 0, DateTime? endedAfter = null)
    {
        var process = new Process
        {
            ExecId = "aG9zdDox", Host = "node-a", Pid = 7, Binary = "/bin/sh", StartTime = Timestamp.FromDateTime(Start),
            ExitTime = Timestamp.FromDateTime(Start.AddMinutes(5)), End = end, ExitSignal = signal,
        };
        if (status is { } s) process.ExitStatus = s;
        if (endedAfter is { } after) process.EndedAfter = Timestamp.FromDateTime(after);
        return process;
    }

    [Fact]
    public void Each_end_reads_as_what_it_was()
    {
        Assert.Equal("running", ProcessText.State(new Process { Live = true }));
        Assert.Equal("exited 3", ProcessText.State(Ended(ProcessEnd.Exited, status: 3)));
        Assert.Equal("killed by SIGKILL", ProcessText.State(Ended(ProcessEnd.Exited, status: 0, signal: 9)));
        Assert.Equal("replaced by exec", ProcessText.State(Ended(ProcessEnd.Replaced)));
        Assert.Equal("ended unseen in a gap: between 2026-01-01T12:01:00.000Z and 2026-01-01T12:05:00.000Z, host not watched",
            ProcessText.State(Ended(ProcessEnd.ConcludedAtRestart, endedAfter: Start.AddMinutes(1))));
        Assert.Equal("ended unseen in a gap: between 2026-01-01T12:01:00.000Z and 2026-01-01T12:05:00.000Z, its exit lost",
            ProcessText.State(Ended(ProcessEnd.ConcludedLost, endedAfter: Start.AddMinutes(1))));
        Assert.Equal("not running, end not recorded", ProcessText.State(new Process { Live = false }));
    }

    [Fact]
    public void A_lineage_tree_marks_the_replaced_image_and_leaves_running_ones_unmarked()
    {
        var shell = Ended(ProcessEnd.Replaced);
        var make = new Process { ExecId = "bWFrZQ==", ParentExecId = shell.ExecId, Host = "node-a", Pid = 7, Binary = "/usr/bin/make", Live = true, StartTime = shell.ExitTime };
        var output = new StringWriter { NewLine = "\n" };

        ProcessTreeText.Write(output, [shell, make], marked: make.ExecId);

        Assert.Equal("7 /bin/sh  [replaced by exec]  aG9zdDox\n└─ 7 /usr/bin/make  ◀  bWFrZQ==\n", output.ToString());
    }
}
