using System.Text.Json;
using Forkline.Client;
using Forkline.Commands;
using Forkline.Contracts.Accounting.Wire;
using Forkline.Contracts.Api;
using Forkline.Export;
using Forkline.Export.Tests;
using Forkline.Gateway.Api;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Forkline.Configuration.Tests;

/// <summary>
/// The client's text views (events, ps, tree, lineage, replay, stats) and its --json answers given what a
/// hostile process can call itself: one line per process or event, no control character raw, and the
/// escaped text reads back (<see cref="CEscapes"/>, the documented rule) to the original.
/// </summary>
public sealed class HostileTextViewTests
{
    private const string ClearScreenAndSetTitle = "\u001b[2J\u001b]0;owned\u0007";

    // A process started as `/bin/true $'x\n15:00:00.000 exec pid=1 /bin/fake'`: a forged event line.
    private const string ForgedEventLine = "x\n15:00:00.000 exec pid=1 /bin/fake";

    // The byte 0xff that was not UTF-8, as the decoder makes it (README "Bytes that are not UTF-8").
    private const string NotUtf8 = "\\xff";

    private const string HostileBinary = "/tmp/x\n 4243 /usr/sbin/sshd" + ClearScreenAndSetTitle + NotUtf8;

    // A run id, a source name or a host: the forged line, the terminal sequences, a C1 CSI and the non-UTF-8 byte.
    internal const string HostileText = ForgedEventLine + ClearScreenAndSetTitle + "\u009b31m" + NotUtf8;
    internal const string HostileTextEscaped = "x\\n15:00:00.000 exec pid=1 /bin/fake\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\\\xff";

    private static readonly Timestamp Noon = Timestamp.FromDateTime(new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc));
    private static readonly Timestamp Later = Timestamp.FromDateTime(new DateTime(2026, 1, 1, 12, 5, 0, DateTimeKind.Utc));

    private static Process Hostile(string binary, string arguments, string execId = "aG9zdGlsZTox", string parent = "") => new()
    {
        ExecId = execId,
        ParentExecId = parent,
        Host = "node-a",
        Pid = 4242,
        Binary = binary,
        Arguments = arguments,
        Live = true,
        StartTime = Timestamp.FromDateTime(new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc)),
    };

    [Fact]
    public void A_binary_named_with_a_newline_and_escape_sequences_makes_one_line_in_ps_and_events()
    {
        var process = Hostile($"/tmp/x\n 4243 /usr/sbin/sshd{ClearScreenAndSetTitle}", ArgumentLine.Format(["x", "a b", ""]));
        var received = new Event { Kind = EventKind.Exec, Host = "node-a\u001b[31m", Process = process, ExecId = process.ExecId, Time = process.StartTime };

        var command = ProcessText.Command(process);
        var line = ProcessText.Event(received);

        Assert.Equal("\"/tmp/x\\n 4243 /usr/sbin/sshd\\x1b[2J\\x1b]0;owned\\x07\" \"a b\" \"\"", command);
        Assert.DoesNotContain(line, char.IsControl);
        Assert.Contains("node-a\\x1b[31m exec", line);
    }

    [Fact]
    public void Arguments_stored_before_they_were_quoted_still_cannot_reach_the_terminal_raw()
    {
        var process = Hostile("/bin/true", "x\n15:00:00.000 exec pid=1 /bin/fake");

        Assert.Equal("/bin/true x\\n15:00:00.000 exec pid=1 /bin/fake", ProcessText.Command(process));
    }

    [Fact]
    public void A_tree_with_a_hostile_child_draws_one_line_per_process()
    {
        var parent = Hostile("/bin/bash", "", execId: "cGFyZW50");
        var child = Hostile($"/tmp/\\xff{ClearScreenAndSetTitle}\n└─ 1 /sbin/init", "", execId: "Y2hpbGQ=", parent: "cGFyZW50");
        var output = new StringWriter { NewLine = "\n" };

        ProcessTreeText.Write(output, [parent, child]);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal("└─ 4242 \"/tmp/\\\\xff\\x1b[2J\\x1b]0;owned\\x07\\n└─ 1 /sbin/init\"  Y2hpbGQ=", lines[1]);
        Assert.All(lines, line => Assert.DoesNotContain(line, char.IsControl));
    }

    [Fact]
    public void A_lineage_of_hostile_processes_draws_one_line_per_process_whose_command_reads_back_to_its_argv()
    {
        string[] subjectArgv = [HostileBinary, "", "a b", "say \"hi\""];
        string[] childArgv = ["/bin/true", ForgedEventLine];
        var init = Hostile($"/sbin/init{ClearScreenAndSetTitle}", "", execId: "aW5pdA==");
        var subject = Hostile(HostileBinary, ArgumentLine.Format([.. subjectArgv]), execId: "c3ViamVjdA==", parent: "aW5pdA==");
        var child = Hostile(childArgv[0], ArgumentLine.Format([.. childArgv]), execId: "Y2hpbGQ=", parent: "c3ViamVjdA==");
        var output = new StringWriter { NewLine = "\n" };

        ProcessTreeText.Write(output, [init, subject, child], marked: subject.ExecId);

        var lines = output.ToString().Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Equal("4242 \"/sbin/init\\x1b[2J\\x1b]0;owned\\x07\"  aW5pdA==", lines[0]);
        Assert.Equal("", lines[3]);
        Assert.All(lines, line => Assert.DoesNotContain(line, char.IsControl));
        Assert.Equal(subjectArgv, CEscapes.SplitArguments(CommandOf(lines[1], "└─ 4242 ", "  ◀  c3ViamVjdA==")));
        Assert.Equal(childArgv, CEscapes.SplitArguments(CommandOf(lines[2], "   └─ 4242 ", "  Y2hpbGQ=")));
    }

    [Fact]
    public async Task A_replay_prints_one_line_per_hostile_event_gap_and_notice()
    {
        string[] argv = [HostileBinary, ForgedEventLine];
        var process = Hostile(HostileBinary, ArgumentLine.Format([.. argv]));
        var exited = process.Clone();
        exited.Live = false;
        exited.End = ProcessEnd.Exited;
        Event[] replayed =
        [
            new() { Kind = EventKind.Exec, Host = "node-a", ExecId = process.ExecId, Time = Noon, Process = process },
            new() { Kind = EventKind.Exit, Host = "node-a", ExecId = process.ExecId, Time = Later, Process = exited },
            new() { Host = HostileText, Time = Later, Gap = new Gap { Host = HostileText, From = Noon, To = Later, Reason = GapReason.CollectorCrashed, RunId = HostileText } },
            new() { Time = Later, MissedEvents = 3 },
        ];
        var output = new StringWriter { NewLine = "\n" };

        await EventLines.WriteAllAsync(new StreamOf(replayed), output, json: false, CancellationToken.None);

        var lines = output.ToString().Split('\n');
        Assert.Equal(replayed.Length + 1, lines.Length);
        Assert.Equal("", lines[^1]);
        Assert.All(lines, line => Assert.DoesNotContain(line, char.IsControl));
        Assert.Equal(argv, CEscapes.SplitArguments(CommandOf(lines[0], "2026-01-01T12:00:00.000Z node-a exec     4242 ", "  aG9zdGlsZTox")));
        Assert.Equal(argv, CEscapes.SplitArguments(CommandOf(lines[1], "2026-01-01T12:05:00.000Z node-a exit     4242 ", "  [exited]  aG9zdGlsZTox")));
        Assert.Equal($"2026-01-01T12:05:00.000Z {HostileTextEscaped} gap   not watched from 2026-01-01T12:00:00.000Z: "
            + $"the collector run ended without a final report: killed, crashed or its node down (run {HostileTextEscaped})", lines[2]);
        Assert.Equal(HostileText, CEscapes.Unescape(HostileTextEscaped));
    }

    [Fact]
    public void Stats_of_a_hostile_host_and_runs_print_as_many_lines_as_of_plain_ones()
    {
        var output = new StringWriter { NewLine = "\n" };
        var plain = new StringWriter { NewLine = "\n" };

        StatsCommand.Write(output, Stats(HostileText));
        StatsCommand.Write(plain, Stats("x"));

        var lines = output.ToString().Split('\n');
        Assert.Equal(plain.ToString().Split('\n').Length, lines.Length);
        Assert.All(lines, line => Assert.DoesNotContain(line, char.IsControl));
        Assert.Equal($"host {HostileTextEscaped}, run {HostileTextEscaped} (replay {HostileTextEscaped}, stopped; "
            + "started 2026-01-01T12:00:00Z, reported 2026-01-01T12:05:00Z)", lines[0]);
        Assert.Contains($"host {HostileTextEscaped}, run {HostileTextEscaped} (crashed: ended without a final report, found by run {HostileTextEscaped} at 2026-01-01T12:05:00Z): "
            + "no report; 0 exec/exit/clone events stored", lines);
        Assert.Contains(lines, line => line.EndsWith($"(run {HostileTextEscaped}, next run {HostileTextEscaped})", StringComparison.Ordinal));
    }

    [Fact]
    public void Lineage_and_stats_as_json_are_one_line_each_without_control_characters_and_read_back_to_the_original_strings()
    {
        string[] argv = [HostileBinary, "", "a b", "say \"hi\"", ForgedEventLine];
        var lineage = new GetLineageResponse { Process = Hostile(HostileBinary, ArgumentLine.Format([.. argv])) };

        var lineageJson = ApiJson.Formatter.Format(lineage);
        var statsJson = ApiJson.Formatter.Format(Stats(HostileText));

        Assert.DoesNotContain(lineageJson, char.IsControl);
        Assert.DoesNotContain(statsJson, char.IsControl);
        var process = JsonDocument.Parse(lineageJson).RootElement.GetProperty("process");
        Assert.Equal(HostileBinary, process.GetProperty("binary").GetString());
        Assert.Equal(argv[1..], CEscapes.SplitArguments(process.GetProperty("arguments").GetString()!));
        var stats = JsonDocument.Parse(statsJson).RootElement;
        Assert.Equal(HostileText, stats.GetProperty("host").GetString());
        Assert.Equal(HostileText, stats.GetProperty("runs")[1].GetProperty("crash_found_by").GetString());
    }

    /// <summary>The command between a line's fixed start and end: what must split back into argv.</summary>
    private static string CommandOf(string line, string start, string end)
    {
        Assert.StartsWith(start, line, StringComparison.Ordinal);
        Assert.EndsWith(end, line, StringComparison.Ordinal);
        return line[start.Length..^end.Length];
    }

    /// <summary>A stopped run with all its counts, a crashed one without a report, and a gap between them.</summary>
    private static GetHostStatsResponse Stats(string text) => new()
    {
        Host = text,
        Runs =
        {
            new RunStats { RunId = text, Source = $"replay {text}", Started = Noon, Reported = Later, Final = true, Counts = new RunCounts(), Balanced = true },
            new RunStats { RunId = text, Crashed = true, CrashFoundBy = text, CrashFound = Later },
        },
        Gaps = { new Gap { Host = text, From = Noon, To = Later, Reason = GapReason.CollectorStopped, RunId = text, NextRunId = text } },
    };

    /// <summary>A replay's answer as the gRPC client hands it over.</summary>
    private sealed class StreamOf(Event[] events) : IAsyncStreamReader<Event>
    {
        private int _next = -1;

        public Event Current => events[_next];

        public Task<bool> MoveNext(CancellationToken cancellationToken) => Task.FromResult(++_next < events.Length);
    }
}
