using Forkline.Collector.Decoding;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Tests;

/// <summary>One event of each kind with every field set to a distinct, non-zero value.</summary>
internal static class SampleEvents
{
    public static readonly IReadOnlyList<HookDescriptor> Hooks =
    [
        new HookDescriptor(0, "getppid", HookKind.Syscall, ChangesCredentials: false),
        new HookDescriptor(1, "setresuid", HookKind.Syscall, ChangesCredentials: true),
        new HookDescriptor(2, "security_file_open", HookKind.Kprobe, ChangesCredentials: false),
    ];

    public static readonly Credentials Credentials = new(1, 2, 3, 4, 5, 6, 7, 8);
    public static readonly Capabilities Capabilities = new(0x1ff_ffff_ffff, 0x0000_0000_2000, 0x8000_0000_0000_0001);
    public static readonly Namespaces Namespaces =
        new(4026531838, 4026531839, 4026531841, 4026531836, 4026532001, 4026531840, 4026531834, 4026532002, 4026531835, 4026531837);

    public static CloneEvent Clone => new(4321, 4321, 123_456_789_012, new ProcessKey(1000, 99_000_000), Credentials, 1001, 0x1234_5678_9abc);

    public static ExecEvent Exec => new(
        4321, 4321, 123_456_999_000,
        new ProcessKey(1000, 99_000_000), new ProcessKey(4321, 123_456_789_012),
        "/usr/bin/bash", ["bash", "-c", "", "echo héllo"], "/home/user",
        Credentials, Capabilities, Namespaces, 1001, 0x1234_5678_9abc,
        ExecFlags.ParentUnknown,
        new ContainerIdentity("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59"),
        new ExecDetails(SecureBits: 0x30, new UserNamespaceOwner(Level: 2, Uid: 100000, Gid: 100001), NamespacePid: 7,
            new ExecutedFile(Mode: 0x81ed | 0x800, Uid: 11, Gid: 12, Inode: 0x1_0000_000d, Links: 2)));

    public static ExitEvent Exit => new(4321, 4321, 200_000_000_000, 123_456_999_000, (3 << 8) | 0x80 | 9, 4325);

    public static HookEvent Hook
    {
        get
        {
            var arguments = new HookArguments();
            for (var i = 0; i < HookArguments.Count; i++) arguments[i] = ulong.MaxValue - (ulong)i;
            return new HookEvent(
                4321, 4323, 150_000_000_000, 123_456_999_000, Hooks[1], HookPhase.Exit, 117, -1,
                Credentials, Capabilities, Namespaces, arguments);
        }
    }

    public static IEnumerable<KernelEvent> OneOfEachKind => [Clone, Exec, Exit, Hook];

    public static byte[] Encode(KernelEvent kernelEvent)
    {
        var buffer = new byte[RecordEncoder.MaxRecordSize];
        var length = kernelEvent switch
        {
            CloneEvent clone => RecordEncoder.WriteClone(buffer, clone),
            ExecEvent exec => RecordEncoder.WriteExec(buffer, exec),
            ExitEvent exit => RecordEncoder.WriteExit(buffer, exit),
            HookEvent hook => RecordEncoder.WriteHook(buffer, hook),
            _ => throw new ArgumentException($"no record for {kernelEvent.GetType().Name}"),
        };
        return buffer[..length];
    }
}

internal static class EventAssert
{
    /// <summary>Record equality, except that exec arguments are compared by content (ImmutableArray compares by reference).</summary>
    public static void Equal(KernelEvent expected, KernelEvent? actual)
    {
        Assert.NotNull(actual);
        if (expected is ExecEvent expectedExec && actual is ExecEvent actualExec)
        {
            Assert.Equal(expectedExec.Arguments.AsEnumerable(), actualExec.Arguments.AsEnumerable());
            Assert.Equal(expectedExec with { Arguments = default }, actualExec with { Arguments = default });
            return;
        }
        Assert.Equal(expected, actual);
    }
}
