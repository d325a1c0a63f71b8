using System.Buffers;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;
using Forkline.Export;
using static Forkline.Export.Tests.ExportAssert;
using static Forkline.Export.Tests.SampleEvents;

namespace Forkline.Export.Tests;

public sealed class CompactFormatterTests
{
    private readonly CompactFormatter _formatter = new();

    [Fact]
    public void Exec_line_has_time_label_pid_binary_and_arguments()
    {
        Assert.Equal("12:00:01.250 exec   pid=300 /usr/bin/sleep 0.2\n", Line(_formatter, Exec()));
    }

    [Fact]
    public void Exit_line_ends_with_the_status()
    {
        Assert.Equal("12:00:01.250 exit   pid=300 /usr/bin/sleep 0.2 status=2\n", Line(_formatter, Exit(status: 2)));
    }

    [Fact]
    public void Exit_by_signal_ends_with_the_signal_name()
    {
        Assert.Equal("12:00:01.250 exit   pid=300 /usr/bin/sleep 0.2 signal=SIGKILL\n", Line(_formatter, Exit(signal: 9)));
    }

    [Fact]
    public void Clone_line_shows_the_inherited_image_with_quoted_arguments()
    {
        Assert.Equal("12:00:01.250 clone  pid=400 /bin/sh -c \"sleep 0.2\"\n", Line(_formatter, Clone()));
    }

    [Fact]
    public void Hook_of_the_leader_is_labelled_with_the_hook_name_and_has_no_tid()
    {
        Assert.Equal("12:00:01.250 setuid pid=300 /usr/bin/sleep 0.2\n", Line(_formatter, Hook(SetuidHook)));
    }

    [Fact]
    public void Hook_of_a_thread_shows_its_tid_and_on_exit_the_return_value()
    {
        var line = Line(_formatter, Hook(CommitCredsHook, tid: 301, phase: HookPhase.Exit, returned: -1));

        Assert.Equal("12:00:01.250 commit_creds pid=300 tid=301 /usr/bin/sleep 0.2 ret=-1\n", line);
    }

    [Fact]
    public void Incomplete_event_is_marked()
    {
        var orphan = new EnrichedExit(Node, EventTime, 1,
            Sleep with { Flags = Sleep.Flags | ProcessFlags.Incomplete, Exit = new ProcessExit(0, 0, 1, EventTime, 300) }, null, null);

        Assert.Equal("12:00:01.250 exit   pid=300 /usr/bin/sleep 0.2 status=0 [incomplete]\n", Line(_formatter, orphan));
    }

    [Fact]
    public void A_concluded_exit_shows_why_it_was_concluded_and_no_status()
    {
        var concluded = new EnrichedExit(Node, EventTime, 0,
            Sleep with { Exit = new ProcessExit(0, 0, 0, EventTime, 300, ExitConclusion.Restart, EventTime.AddHours(-1)) }, null, null);

        Assert.Equal("12:00:01.250 exit   pid=300 /usr/bin/sleep 0.2 concluded=restart\n", Line(_formatter, concluded));
    }

    [Fact]
    public void Event_without_a_parent_is_not_marked_incomplete_since_init_has_none()
    {
        var init = new EnrichedExec(Node, EventTime, 1, Sleep, null, null);

        Assert.DoesNotContain("[incomplete]", Line(_formatter, init));
    }

    [Fact]
    public void Characters_that_would_break_the_line_or_the_terminal_are_escaped_in_quotes()
    {
        var process = Sleep with { Binary = "/tmp/a\nb\tc\u001b[31m\u202edoc.pdf\u0085", Arguments = ["x", "ü"] };

        var line = Line(_formatter, Exec(process));

        Assert.Equal("12:00:01.250 exec   pid=300 \"/tmp/a\\nb\\tc\\x1b[31m\\u202edoc.pdf\\x85\" ü\n", line);
    }

    [Fact]
    public void An_argument_that_forges_a_second_event_line_stays_on_one_line()
    {
        var process = Sleep with { Binary = "/bin/true", Arguments = ["true", "x\n15:00:00.000 exec   pid=1 /bin/fake"] };

        var line = Line(_formatter, Exec(process));

        Assert.Equal("12:00:01.250 exec   pid=300 /bin/true \"x\\n15:00:00.000 exec   pid=1 /bin/fake\"\n", line);
        Assert.Single(line.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void A_screen_clear_and_a_title_sequence_in_the_binary_reach_the_terminal_as_text()
    {
        var process = Sleep with { Binary = "/tmp/\u001b[2J\u001b]0;owned\u0007x", Arguments = ["x"] };

        var line = Line(_formatter, Exec(process));

        Assert.Equal("12:00:01.250 exec   pid=300 \"/tmp/\\x1b[2J\\x1b]0;owned\\x07x\"\n", line);
        Assert.DoesNotContain(line, character => char.IsControl(character) && character != '\n');
    }

    [Fact]
    public void Emoji_prefix_is_only_written_when_asked()
    {
        var line = Line(new CompactFormatter(emoji: true), Exec());

        Assert.Equal("12:00:01.250 🚀 exec   pid=300 /usr/bin/sleep 0.2\n", line);
        Assert.All(Line(_formatter, Exec()), character => Assert.True(character < 128));
    }

    [Fact]
    public void Formatting_allocates_nothing_per_event()
    {
        var events = new EnrichedEvent[] { Exec(), Exit(signal: 9), Clone(), Hook(SetuidHook, tid: 301, phase: HookPhase.Exit) };
        var output = new ArrayBufferWriter<byte>(16 * 1024);
        foreach (var enriched in events) _formatter.Format(enriched, output);

        output.ResetWrittenCount();
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var enriched in events) _formatter.Format(enriched, output);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
