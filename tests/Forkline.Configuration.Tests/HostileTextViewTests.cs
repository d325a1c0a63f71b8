using Forkline.Client;
using Forkline.Contracts.Api;
using Forkline.Export;
using Google.Protobuf.WellKnownTypes;

namespace Forkline.Configuration.Tests;

/// <summary>The client's text views (events, ps, tree, lineage) given what a hostile process can call itself.</summary>
public sealed class HostileTextViewTests
{
    private const string ClearScreenAndSetTitle = "\u001b[2J\u001b]0;owned\u0007";

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
}
