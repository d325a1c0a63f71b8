using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Forkline.Collector.Containers;
using Forkline.Contracts.Events;
using Forkline.Export;
using Microsoft.Extensions.Logging;
using static Forkline.Collector.Decoding.LayoutConversions;

namespace Forkline.Collector.Decoding;

/// <summary>
/// Turns one raw ring-buffer record (bpf/forkline.h layouts) into a <see cref="KernelEvent"/>.
/// Owned by one reader thread. Never throws on any input: a bad record is counted in
/// <see cref="DecodeCounters"/>, reported (rate-limited) and returned as null.
/// </summary>
public sealed class RecordDecoder
{
    /// <summary>
    /// Largest size a header may declare. BPF records are under 3 KiB; the margin lets a newer BPF
    /// object append fields (decoded as their known prefix) while a wild size is still caught.
    /// </summary>
    public const int MaxRecordSize = 64 * 1024;

    public static readonly TimeSpan DefaultReportInterval = TimeSpan.FromSeconds(10);

    internal static readonly int HeaderSize = Unsafe.SizeOf<FlHeader>();

    private readonly HookDescriptor[] _hooks;
    private readonly DecodeCounters _counters;
    private readonly RateLimitedReport _report;
    private readonly Func<string>? _captureLocation;
    private readonly ContainerIdentityCache _unifiedContainers;
    private readonly ContainerIdentityCache _legacyContainers;
    private readonly bool _containerIdentity;
    private readonly Namespaces? _hostNamespaces;
    private readonly RecentTexts _texts = new();

    /// <param name="hooksById">The loaded hook policy; entry i must have Id i (hook records carry that index).</param>
    /// <param name="logger">Gets one warning per bad record, at most one per <paramref name="reportInterval"/>.</param>
    /// <param name="captureLocation">
    /// For records read from a capture file: where the current one sits ("FILE: record N at offset M"), so a
    /// bad record is reported as corruption there. Without it records come from the ring buffer, where a
    /// layout the decoder does not know means the BPF object and the collector are from different builds.
    /// </param>
    /// <param name="pods">This node's pods, attached to the container identities of exec records; null: none.</param>
    /// <param name="containerIdentity">Read container ids out of exec records' cgroup names; false: no process carries a container.</param>
    /// <param name="hostNamespaces">This host's own namespaces (init's, <see cref="HostNamespaces.Read"/>): every decoded
    /// namespace with one of their inodes is marked host-owned. Null (not readable, or records of another host): none is.</param>
    public RecordDecoder(
        IReadOnlyList<HookDescriptor> hooksById,
        DecodeCounters counters,
        ILogger? logger = null,
        TimeSpan? reportInterval = null,
        Func<string>? captureLocation = null,
        PodDirectory? pods = null,
        bool containerIdentity = true,
        Namespaces? hostNamespaces = null)
    {
        _hostNamespaces = hostNamespaces;
        ArgumentNullException.ThrowIfNull(hooksById);
        ArgumentNullException.ThrowIfNull(counters);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Ring-buffer records are decoded in place as little-endian x86_64 layouts; this machine is big-endian");
        _hooks = new HookDescriptor[hooksById.Count];
        for (var i = 0; i < _hooks.Length; i++)
        {
            _hooks[i] = hooksById[i];
            if (_hooks[i].Id != i)
                throw new ArgumentException(
                    $"Hook '{_hooks[i].Name}' has id {_hooks[i].Id} but sits at index {i}; hooksById must be ordered so that index == id", nameof(hooksById));
        }
        _counters = counters;
        _report = new RateLimitedReport(logger, reportInterval ?? DefaultReportInterval);
        _captureLocation = captureLocation;
        _unifiedContainers = new ContainerIdentityCache(pods);
        _legacyContainers = new ContainerIdentityCache(pods);
        _containerIdentity = containerIdentity;
    }

    public DecodeCounters Counters => _counters;

    public IReadOnlyList<HookDescriptor> Hooks => _hooks;

    /// <summary>The decoded event, or null for a bad record (counted and reported).</summary>
    public KernelEvent? Decode(ReadOnlySpan<byte> record)
    {
        var error = Validate(record);
        if (error != DecodeError.None) return Reject(error, record);

        KernelEvent? decoded = (FlKind)MemoryMarshal.AsRef<FlHeader>(record).Kind switch
        {
            FlKind.Clone => DecodeClone(record),
            FlKind.Exec => DecodeExec(record, out error),
            FlKind.Exit => DecodeExit(record),
            _ => DecodeHook(record, out error),
        };
        if (decoded is null) return Reject(error, record);
        _counters.CountDecoded();
        return decoded;
    }

    /// <summary>Checks the header against the bytes delivered and the layout of its kind.</summary>
    private static DecodeError Validate(ReadOnlySpan<byte> record)
    {
        if (record.Length < HeaderSize) return DecodeError.Truncated;
        ref readonly var header = ref MemoryMarshal.AsRef<FlHeader>(record);
        if (header.Version != FlConstants.RecordVersion) return DecodeError.UnsupportedVersion;
        var layoutSize = LayoutSize(header.Kind);
        if (layoutSize == 0) return DecodeError.UnknownKind;
        if (header.Size != (uint)record.Length)
            return header.Size > (uint)record.Length && header.Size <= MaxRecordSize ? DecodeError.Truncated : DecodeError.SizeMismatch;
        return record.Length < layoutSize ? DecodeError.Truncated : DecodeError.None;
    }

    /// <summary>Bytes of the C layout of a record kind; 0 for a kind this collector does not know.</summary>
    internal static int LayoutSize(ushort kind) => (FlKind)kind switch
    {
        FlKind.Clone => Unsafe.SizeOf<FlCloneEvent>(),
        FlKind.Exec => Unsafe.SizeOf<FlExecEvent>(),
        FlKind.Exit => Unsafe.SizeOf<FlExitEvent>(),
        FlKind.Hook => Unsafe.SizeOf<FlHookEvent>(),
        _ => 0,
    };

    private static CloneEvent DecodeClone(ReadOnlySpan<byte> record)
    {
        ref readonly var r = ref MemoryMarshal.AsRef<FlCloneEvent>(record);
        return new CloneEvent(
            (int)r.H.Pid, (int)r.H.Tid, r.H.Ktime,
            ToProcessKey(r.Parent), ToCredentials(r.Creds), r.Auid, r.CgroupId);
    }

    private static ExitEvent DecodeExit(ReadOnlySpan<byte> record)
    {
        ref readonly var r = ref MemoryMarshal.AsRef<FlExitEvent>(record);
        return new ExitEvent((int)r.H.Pid, (int)r.H.Tid, r.H.Ktime, r.StartKtime, r.ExitCode, (int)r.LastTid);
    }

    private HookEvent? DecodeHook(ReadOnlySpan<byte> record, out DecodeError error)
    {
        ref readonly var r = ref MemoryMarshal.AsRef<FlHookEvent>(record);
        if (r.HookId >= (uint)_hooks.Length)
        {
            error = DecodeError.UnknownHook;
            return null;
        }
        if (r.Phase > (ushort)HookPhase.Exit)
        {
            error = DecodeError.UnknownHookPhase;
            return null;
        }
        error = DecodeError.None;
        return new HookEvent(
            (int)r.H.Pid, (int)r.H.Tid, r.H.Ktime, r.StartKtime,
            _hooks[r.HookId], (HookPhase)r.Phase, r.SyscallNr, r.Ret,
            ToCredentials(r.Creds), ToCapabilities(r.Caps), OnThisHost(ToNamespaces(r.Ns)), r.Args);
    }

    private Namespaces OnThisHost(in Namespaces namespaces) =>
        _hostNamespaces is { } host ? NamespaceKinds.MarkHost(namespaces, host) : namespaces;

    private ExecEvent? DecodeExec(ReadOnlySpan<byte> record, out DecodeError error)
    {
        ref readonly var r = ref MemoryMarshal.AsRef<FlExecEvent>(record);
        if (r.FilenameLen > FlConstants.FilenameMax || r.ArgsLen > FlConstants.ArgsMax || r.CwdLen > FlConstants.CwdMax)
        {
            error = DecodeError.StringLengthOutOfRange;
            return null;
        }
        error = DecodeError.None;
        ReadOnlySpan<byte> filename = r.Filename;
        ReadOnlySpan<byte> args = r.Args;
        ReadOnlySpan<byte> cwd = r.Cwd;
        var flags = (ExecFlags)r.Flags;
        var filenameText = _texts.Decode(filename[..r.FilenameLen]);
        var cwdText = _texts.Decode(cwd[..r.CwdLen]);
        // A procfs record's filename is /proc's exe link (absolute) or, when that is unreadable, argv[0] or a
        // kernel thread's "[name]": no path execve was given, nothing to resolve.
        if ((flags & ExecFlags.Procfs) == 0)
            filenameText = ExecutedPath.Absolute(filenameText, cwdText, (flags & ExecFlags.CwdTruncated) != 0);
        return new ExecEvent(
            (int)r.H.Pid, (int)r.H.Tid, r.H.Ktime,
            ToProcessKey(r.Parent), ToProcessKey(r.Replaced),
            filenameText,
            DecodeArguments(args[..r.ArgsLen]),
            cwdText,
            ToCredentials(r.Creds), ToCapabilities(r.Caps), OnThisHost(ToNamespaces(r.Ns)),
            r.Auid, r.CgroupId, flags,
            _containerIdentity ? _unifiedContainers.Resolve(r.Unified) ?? _legacyContainers.Resolve(r.Legacy) : null,
            new ExecDetails(r.Securebits,
                r.UsernsLevel == RecordEncoder.UnknownUserNamespaceLevel ? null : new UserNamespaceOwner(r.UsernsLevel, r.UsernsOwner, r.UsernsGroup),
                (int)r.NsPid,
                new ExecutedFile(r.FileMode, r.FileUid, r.FileGid, r.FileIno, r.FileNlink)));
    }

    /// <summary>
    /// argv as the kernel lays it out: each argument NUL-terminated. Empty arguments are kept; a last
    /// argument without its NUL (cut by FL_ARGS_MAX) is kept as far as it goes. Bytes that are not UTF-8 follow <see cref="ByteText"/>'s rule.
    /// </summary>
    private ImmutableArray<string> DecodeArguments(ReadOnlySpan<byte> args)
    {
        if (args.IsEmpty) return ImmutableArray<string>.Empty;
        var count = args.Count((byte)0) + (args[^1] == 0 ? 0 : 1);
        var arguments = new string[count];
        for (var i = 0; i < arguments.Length; i++)
        {
            var end = args.IndexOf((byte)0);
            if (end < 0) end = args.Length;
            arguments[i] = _texts.Decode(args[..end]);
            args = end < args.Length ? args[(end + 1)..] : default;
        }
        return ImmutableCollectionsMarshal.AsImmutableArray(arguments);
    }

    private KernelEvent? Reject(DecodeError error, ReadOnlySpan<byte> record)
    {
        _counters.CountRejected(error);
        if (_report.IsDue()) _report.Send(BadRecordDescription.Describe(error, record, _hooks.Length, _captureLocation?.Invoke()));
        return null;
    }
}
