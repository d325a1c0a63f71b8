using System.Globalization;
using Forkline.Contracts.Events;
using Forkline.Export;

namespace Forkline.Output;

/// <summary>
/// One human-readable line per raw kernel event:
/// <code>
/// 12:00:01.123456 exec  4242/4242 /usr/bin/sleep 0.1 parent=4241 uid=0 cwd=/root
/// 12:00:01.223456 hook  4242/4250 setresuid exit (0x4d2, 0x4d2, 0x4d2) ret=0 uid=1234
/// 12:00:01.323456 exit  4242/4242 status=3
/// </code>
/// The command is quoted as <see cref="ArgumentLine"/> does, the cwd escaped as <see cref="TerminalText"/> does.
/// </summary>
public sealed class CompactEventFormat(BootClock clock, TextWriter output) : IRawEventFormat
{
    private readonly ArgumentLine _command = new();

    public void Flush() => output.Flush();

    public void Write(KernelEvent kernelEvent)
    {
        output.Write(clock.ToUtc(kernelEvent.Ktime).ToString("HH:mm:ss.ffffff", CultureInfo.InvariantCulture));
        switch (kernelEvent)
        {
            case ExecEvent exec:
                Head(output, "exec ", exec);
                output.Write(_command.Command(exec.Filename, exec.Arguments));
                output.Write($" parent={exec.Parent.Pid} uid={exec.Credentials.Uid} cwd={TerminalText.Escape(exec.Cwd)}");
                if ((exec.Flags & ExecFlags.Procfs) != 0) output.Write(" [procfs]");
                break;
            case CloneEvent clone:
                Head(output, "clone", clone);
                output.Write($"parent={clone.Parent.Pid} uid={clone.Credentials.Uid}");
                break;
            case ExitEvent exit:
                Head(output, "exit ", exit);
                output.Write(exit.Signal != 0 ? $"signal={exit.Signal}" : $"status={exit.Status}");
                if (exit.LastTid != exit.Pid) output.Write($" last_tid={exit.LastTid}");
                break;
            case HookEvent hook:
                Head(output, "hook ", hook);
                output.Write(hook.Hook.Name);
                output.Write(hook.Phase == HookPhase.Enter ? " enter (" : " exit (");
                for (var i = 0; i < HookArguments.Count; i++)
                {
                    if (i > 0) output.Write(", ");
                    output.Write($"0x{hook.Arguments[i]:x}");
                }
                output.Write(')');
                if (hook.Phase == HookPhase.Exit) output.Write($" ret={hook.Return}");
                output.Write($" uid={hook.Credentials.Uid} euid={hook.Credentials.Euid}");
                break;
            default:
                Head(output, "?    ", kernelEvent);
                break;
        }
        output.Write('\n');
    }

    private static void Head(TextWriter output, string kind, KernelEvent kernelEvent) =>
        output.Write($" {kind} {kernelEvent.Pid}/{kernelEvent.Tid} ");
}
