using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Unicode;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using static Forkline.Collector.Decoding.LayoutConversions;

namespace Forkline.Collector.Decoding;

/// <summary>The fixed-size part of an exec record; the strings travel beside it as raw bytes.</summary>
public readonly record struct ExecRecordFields(
    int Pid, int Tid, ulong Ktime,
    ProcessKey Parent,
    ProcessKey Replaced,
    Credentials Credentials,
    Capabilities Capabilities,
    Namespaces Namespaces,
    uint Auid,
    ulong CgroupId,
    ExecFlags Flags,
    ContainerIdentity? Container = null,
    ExecDetails Details = default);

/// <summary>
/// Writes records in the bpf/forkline.h layouts, byte for byte what the BPF programs emit, so that
/// userspace-made records (procfs bootstrap, replay, synthetic load, tests) go through the same decoder.
/// Each method returns the record's size and throws when <c>destination</c> is too small.
/// </summary>
public static class RecordEncoder
{
    /// <summary>fl_exec_event.userns_level of a record whose user namespace is not known.</summary>
    internal const int UnknownUserNamespaceLevel = -1;

    public static int CloneRecordSize => Unsafe.SizeOf<FlCloneEvent>();
    public static int ExecRecordSize => Unsafe.SizeOf<FlExecEvent>();
    public static int ExitRecordSize => Unsafe.SizeOf<FlExitEvent>();
    public static int HookRecordSize => Unsafe.SizeOf<FlHookEvent>();

    /// <summary>The largest record any kind produces: a buffer this big holds any one record.</summary>
    public static int MaxRecordSize => ExecRecordSize;

    public static int WriteClone(Span<byte> destination, CloneEvent clone)
    {
        ref var r = ref Start<FlCloneEvent>(destination, FlKind.Clone, clone);
        r.Parent = ToLayout(clone.Parent);
        r.Creds = ToLayout(clone.Credentials);
        r.Auid = clone.Auid;
        r.CgroupId = clone.CgroupId;
        return CloneRecordSize;
    }

    public static int WriteExit(Span<byte> destination, ExitEvent exit)
    {
        ref var r = ref Start<FlExitEvent>(destination, FlKind.Exit, exit);
        r.StartKtime = exit.StartKtime;
        r.ExitCode = exit.ExitCode;
        r.LastTid = (uint)exit.LastTid;
        return ExitRecordSize;
    }

    /// <summary>The record names the hook by <see cref="HookDescriptor.Id"/>.</summary>
    public static int WriteHook(Span<byte> destination, HookEvent hook)
    {
        ref var r = ref Start<FlHookEvent>(destination, FlKind.Hook, hook);
        r.StartKtime = hook.StartKtime;
        r.HookId = (uint)hook.Hook.Id;
        r.Phase = (ushort)hook.Phase;
        r.SyscallNr = (ushort)hook.SyscallNr;
        r.Ret = hook.Return;
        r.Creds = ToLayout(hook.Credentials);
        r.Caps = ToLayout(hook.Capabilities);
        r.Ns = ToLayout(hook.Namespaces);
        r.Args = hook.Arguments;
        return HookRecordSize;
    }

    /// <summary>
    /// Strings are encoded as UTF-8 and cut at the record's limits like the BPF side cuts them:
    /// a cut sets the matching *Truncated flag.
    /// </summary>
    public static int WriteExec(Span<byte> destination, ExecEvent exec)
    {
        var fields = new ExecRecordFields(
            exec.Pid, exec.Tid, exec.Ktime, exec.Parent, exec.Replaced, exec.Credentials,
            exec.Capabilities, exec.Namespaces, exec.Auid, exec.CgroupId, exec.Flags, exec.Container, exec.Details);
        ref var r = ref StartExec(destination, fields);
        var flags = fields.Flags;
        r.FilenameLen = CopyUtf8(exec.Filename, r.Filename, ExecFlags.FilenameTruncated, ref flags);
        r.CwdLen = CopyUtf8(exec.Cwd, r.Cwd, ExecFlags.CwdTruncated, ref flags);
        r.ArgsLen = CopyArguments(exec.Arguments.IsDefault ? [] : exec.Arguments.AsSpan(), r.Args, ref flags);
        r.Flags = (uint)flags;
        return ExecRecordSize;
    }

    /// <summary>
    /// Raw bytes as /proc gives them: <paramref name="args"/> is argv with each argument NUL-terminated
    /// (the layout of /proc/pid/cmdline). Bytes beyond a limit are cut and flagged.
    /// </summary>
    public static int WriteExec(
        Span<byte> destination, in ExecRecordFields fields,
        ReadOnlySpan<byte> filename, ReadOnlySpan<byte> args, ReadOnlySpan<byte> cwd)
    {
        ref var r = ref StartExec(destination, fields);
        var flags = fields.Flags;
        r.FilenameLen = CopyBytes(filename, r.Filename, ExecFlags.FilenameTruncated, ref flags);
        r.ArgsLen = CopyBytes(args, r.Args, ExecFlags.ArgsTruncated, ref flags);
        r.CwdLen = CopyBytes(cwd, r.Cwd, ExecFlags.CwdTruncated, ref flags);
        r.Flags = (uint)flags;
        return ExecRecordSize;
    }

    private static ref FlExecEvent StartExec(Span<byte> destination, in ExecRecordFields fields)
    {
        ref var r = ref Start<FlExecEvent>(destination, FlKind.Exec, fields.Pid, fields.Tid, fields.Ktime);
        r.Parent = ToLayout(fields.Parent);
        r.Replaced = ToLayout(fields.Replaced);
        r.Creds = ToLayout(fields.Credentials);
        r.Caps = ToLayout(fields.Capabilities);
        r.Ns = ToLayout(fields.Namespaces);
        r.Auid = fields.Auid;
        r.CgroupId = fields.CgroupId;
        r.Securebits = fields.Details.SecureBits;
        r.NsPid = (uint)fields.Details.NamespacePid;
        var userNamespace = fields.Details.UserNamespace.GetValueOrDefault(new UserNamespaceOwner(UnknownUserNamespaceLevel, 0, 0));
        r.UsernsLevel = userNamespace.Level;
        r.UsernsOwner = userNamespace.Uid;
        r.UsernsGroup = userNamespace.Gid;
        r.FileMode = fields.Details.File.Mode;
        r.FileUid = fields.Details.File.Uid;
        r.FileGid = fields.Details.File.Gid;
        r.FileIno = fields.Details.File.Inode;
        r.FileNlink = fields.Details.File.Links;
        if (fields.Container is { } container) WriteContainer(ref r.Unified, container);
        return ref r;
    }

    // The cgroupfs names a runtime gives it: "<id>", below "pod<uid>" in a pod. The record is zeroed, so the names end in NUL.
    private static void WriteContainer(ref FlCgroup cgroup, ContainerIdentity container)
    {
        CopyAscii(container.ContainerId, cgroup.Name);
        if (container.PodUid is { } pod)
        {
            "pod"u8.CopyTo(cgroup.Parent);
            CopyAscii(pod, ((Span<byte>)cgroup.Parent)["pod".Length..]);
        }
    }

    private static void CopyAscii(string text, Span<byte> buffer) =>
        System.Text.Encoding.ASCII.GetBytes(text.AsSpan(0, Math.Min(text.Length, buffer.Length - 1)), buffer);

    private static ref T Start<T>(Span<byte> destination, FlKind kind, KernelEvent kernelEvent) where T : unmanaged =>
        ref Start<T>(destination, kind, kernelEvent.Pid, kernelEvent.Tid, kernelEvent.Ktime);

    /// <summary>Zeroes the record (padding and unused string bytes included) and writes its header.</summary>
    private static ref T Start<T>(Span<byte> destination, FlKind kind, int pid, int tid, ulong ktime) where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        if (destination.Length < size)
            throw new ArgumentException(
                $"A {kind} record needs {size} bytes but the destination has {destination.Length}; pass a buffer of at least RecordEncoder.MaxRecordSize ({MaxRecordSize}) bytes",
                nameof(destination));
        destination[..size].Clear();
        MemoryMarshal.Write(destination, new FlHeader
        {
            Kind = (ushort)kind,
            Version = FlConstants.RecordVersion,
            Size = (uint)size,
            Ktime = ktime,
            Pid = (uint)pid,
            Tid = (uint)tid,
        });
        return ref MemoryMarshal.AsRef<T>(destination);
    }

    private static ushort CopyBytes(ReadOnlySpan<byte> source, Span<byte> buffer, ExecFlags cutFlag, ref ExecFlags flags)
    {
        if (source.Length > buffer.Length)
        {
            source = source[..buffer.Length];
            flags |= cutFlag;
        }
        source.CopyTo(buffer);
        return (ushort)source.Length;
    }

    private static ushort CopyUtf8(string text, Span<byte> buffer, ExecFlags cutFlag, ref ExecFlags flags)
    {
        if (Utf8.FromUtf16(text, buffer, out _, out var written) != System.Buffers.OperationStatus.Done)
            flags |= cutFlag;
        return (ushort)written;
    }

    private static ushort CopyArguments(ReadOnlySpan<string> arguments, Span<byte> buffer, ref ExecFlags flags)
    {
        var used = 0;
        foreach (var argument in arguments)
        {
            var status = Utf8.FromUtf16(argument, buffer[used..], out _, out var written);
            used += written;
            if (status != System.Buffers.OperationStatus.Done || used == buffer.Length)
            {
                flags |= ExecFlags.ArgsTruncated;
                break;
            }
            buffer[used++] = 0;
        }
        return (ushort)used;
    }
}
