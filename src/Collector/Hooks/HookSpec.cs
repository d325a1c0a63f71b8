using Forkline.Contracts.Events;

namespace Forkline.Collector.Hooks;

/// <summary>
/// One requested hook before ids are given out. Syscall hooks name a syscall number (-1 for
/// kprobes); kprobe hooks name a kernel symbol, with Exit meaning a kretprobe.
/// </summary>
public sealed record HookSpec(string Name, HookKind Kind, HookPhase Phase, int SyscallNumber, string? Symbol)
{
    /// <summary>A syscall hook by x86_64 name; the hook is named after the syscall unless a name is given.</summary>
    public static HookSpec Syscall(string syscallName, HookPhase phase, string? name = null) =>
        SyscallTable.TryGetNumber(syscallName, out var number)
            ? new HookSpec(name ?? syscallName, HookKind.Syscall, phase, number, null)
            : throw new HookPolicyException(
                $"unknown syscall name '{syscallName}' — use one of {string.Join(", ", SyscallTable.Names)}, or its x86_64 number");

    public static HookSpec Kprobe(string symbol, HookPhase phase, string? name = null) =>
        new(name ?? symbol, HookKind.Kprobe, phase, -1, symbol);
}

/// <summary>A hook of a loaded policy: its descriptor (id, name) and what it attaches to.</summary>
public sealed record PolicyHook(HookDescriptor Descriptor, HookSpec Spec);

/// <summary>A hook policy that cannot be used; the message names the entry and the fix.</summary>
public sealed class HookPolicyException(string message) : Exception(message);
