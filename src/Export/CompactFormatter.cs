using System.Buffers;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;

namespace Forkline.Export;

/// <summary>
/// One readable line per event, for a terminal:
/// <code>
/// 12:00:01.250 exec   pid=1234 /usr/bin/sleep 0.2
/// 12:00:01.452 exit   pid=1234 /usr/bin/sleep 0.2 status=0
/// 12:00:02.003 exit   pid=1240 /usr/bin/yes signal=SIGKILL
/// 12:00:03.000 exit   pid=1250 /usr/bin/sleep 3001 concluded=restart
/// 12:00:02.010 clone  pid=1241 /usr/bin/bash -c x
/// 12:00:02.100 setuid pid=1234 tid=1236 /usr/bin/app --serve ret=0
/// </code>
/// The command is the binary and its arguments quoted as <see cref="ArgumentLine"/> does (a word with a
/// space, quote, backslash or control character in double quotes, escaped). Time is UTC. tid appears when a thread other than the leader made the call; "ret=" on a hook's
/// exit phase; " [incomplete]" when the process or parent was unknown. ASCII apart from what the
/// processes themselves carry, unless emoji are asked for (Tetragon's compact view style).
/// Reuses a buffer, so one thread at a time.
/// </summary>
public sealed class CompactFormatter(bool emoji = false) : IEventFormatter
{
    private const int LabelWidth = 6;

    private readonly ArgumentLine _arguments = new();

    public void Format(EnrichedEvent enriched, IBufferWriter<byte> output)
    {
        var line = new Utf8Line(output);
        line.TimeOfDay(enriched.Time);
        line.Literal(" "u8);
        if (emoji) line.Literal(Emoji(enriched));
        line.Padded(Label(enriched), LabelWidth);
        line.Literal(" pid="u8);
        line.Number(enriched.Process.Pid);
        if (enriched is EnrichedHook { Thread: { } thread })
        {
            line.Literal(" tid="u8);
            line.Number(thread.Tid);
        }
        line.Literal(" "u8);
        line.Escaped(_arguments.Command(enriched.Process.Binary, enriched.Process.Arguments));
        WriteOutcome(enriched, line);
        if (enriched.Incomplete) line.Literal(" [incomplete]"u8);
        line.Literal("\n"u8);
    }

    private static ReadOnlySpan<char> Label(EnrichedEvent enriched) => enriched switch
    {
        EnrichedExec => "exec",
        EnrichedExit => "exit",
        EnrichedClone => "clone",
        EnrichedHook hook => hook.Hook.Hook.Name,
        _ => enriched.Kind.ToString(),
    };

    private static ReadOnlySpan<byte> Emoji(EnrichedEvent enriched) => enriched.Kind switch
    {
        EnrichedKind.Exec => "🚀 "u8,
        EnrichedKind.Exit => "💥 "u8,
        EnrichedKind.Clone => "🧬 "u8,
        _ => "🔧 "u8,
    };

    private static void WriteOutcome(EnrichedEvent enriched, Utf8Line line)
    {
        switch (enriched)
        {
            // Gone without an exit seen: no status or signal is known, only why it was concluded.
            case EnrichedExit { Process.Exit: { Concluded: true } concluded }:
                line.Literal(" concluded="u8);
                line.Text(ProcessExit.ReasonOf(concluded.Conclusion));
                break;
            case EnrichedExit { Process.Exit: { Signal: not 0 } killed }:
                line.Literal(" signal="u8);
                line.Text(LinuxNames.SignalName(killed.Signal));
                break;
            case EnrichedExit { Process.Exit: { } exited }:
                line.Literal(" status="u8);
                line.Number(exited.Status);
                break;
            case EnrichedHook { Hook: { Phase: HookPhase.Exit } call }:
                line.Literal(" ret="u8);
                line.Number(call.Return);
                break;
        }
    }
}
