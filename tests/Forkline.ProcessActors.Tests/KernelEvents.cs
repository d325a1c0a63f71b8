using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.ProcessActors.Tests;

/// <summary>Builds kernel events the way the collector delivers them.</summary>
internal static class KernelEvents
{
    public static readonly HookDescriptor Openat = new(1, "sys_openat", HookKind.Syscall, ChangesCredentials: false);
    public static readonly HookDescriptor Setuid = new(2, "sys_setuid", HookKind.Syscall, ChangesCredentials: true);

    public static readonly Capabilities FullCapabilities = new(ulong.MaxValue >> 23, ulong.MaxValue >> 23, 0);

    public static Credentials User(uint id) => new(id, id, id, id, id, id, id, id);

    public static ProcessKey Key(int pid, ulong start) => new(pid, start);

    public static ExecEvent Exec(ProcessKey key, ProcessKey parent, string binary, ProcessKey replaced = default,
        int? tid = null, Credentials? credentials = null, ExecFlags flags = ExecFlags.None) =>
        new(key.Pid, tid ?? key.Pid, key.StartKtime, parent, replaced, binary,
            [binary, "--pid", key.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], "/work",
            credentials ?? User(1000), FullCapabilities, default, 4294967295, 77, flags);

    public static CloneEvent Clone(ProcessKey key, ProcessKey parent, int? tid = null, Credentials? credentials = null) =>
        new(key.Pid, tid ?? key.Pid, key.StartKtime, parent, credentials ?? User(1000), 4294967295, 77);

    public static ExitEvent Exit(ProcessKey key, ulong ktime, int status = 0, int? tid = null) =>
        new(key.Pid, tid ?? key.Pid, ktime, key.StartKtime, (uint)(status << 8), tid ?? key.Pid);

    public static HookEvent Hook(ProcessKey key, ulong ktime, int? tid = null, HookDescriptor? hook = null,
        Credentials? credentials = null, HookPhase phase = HookPhase.Exit, long result = 0) =>
        new(key.Pid, tid ?? key.Pid, ktime, key.StartKtime, hook ?? Openat, phase, 257, result,
            credentials ?? User(1000), FullCapabilities, default, default);
}
