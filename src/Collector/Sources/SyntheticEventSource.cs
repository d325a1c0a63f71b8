using System.Collections.Immutable;
using Forkline.Collector.Decoding;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Sources;

/// <summary>
/// A deterministic process tree for benchmarks and tests: fork + exec of each process, hook events
/// from its leader and its other threads (some dropping their own credentials with setresuid), and
/// exits, all following the kernel's rules (TID == PID on clone/exec/exit, real TIDs on hooks).
/// </summary>
public sealed class SyntheticEventSource : IEventSource
{
    public const int GetppidHookId = 0;
    public const int OpenatHookId = 1;
    public const int SetresuidHookId = 2;

    /// <summary>Events handed on as one batch.</summary>
    public const int MaxBatchEvents = 256;

    /// <summary>The hook policy the generated hook events name (index == id).</summary>
    public static readonly IReadOnlyList<HookDescriptor> Hooks =
    [
        new HookDescriptor(GetppidHookId, "getppid", HookKind.Syscall, ChangesCredentials: false),
        new HookDescriptor(OpenatHookId, "openat", HookKind.Syscall, ChangesCredentials: false),
        new HookDescriptor(SetresuidHookId, "setresuid", HookKind.Syscall, ChangesCredentials: true),
    ];

    private readonly SyntheticWorkload _workload;
    private volatile Delivery? _delivery;

    public SyntheticEventSource(SyntheticWorkload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        workload.Validate();
        _workload = workload;
    }

    public string Name => "synthetic";

    /// <summary>Bad-record counts of the decoder when <see cref="SyntheticWorkload.ThroughDecoder"/> is set (always 0 rejected).</summary>
    public DecodeCounters Counters { get; } = new();

    public SourceCounts Counts => _delivery is { } delivery
        ? new SourceCounts(Produced: delivery.Produced, Bootstrapped: 0, Lost: 0, Discarded: 0, Malformed: Counters.TotalRejected, Delivered: delivery.Delivered)
        : default;

    public Task RunAsync(IKernelEventSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return Task.Factory.StartNew(
            () => Generate(sink, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Generates the whole workload on the calling thread (for benchmarks that time the consumer).</summary>
    public void Generate(IKernelEventSink sink, CancellationToken cancellationToken = default)
    {
        var delivery = new Delivery(sink, _workload.ThroughDecoder ? new RecordDecoder(Hooks, Counters) : null);
        _delivery = delivery;
        try
        {
            new SyntheticTree(_workload, delivery).Run(cancellationToken);
        }
        finally
        {
            sink.OnBatchEnd();
        }
    }

    /// <summary>Hands events to the sink, through encode + decode when asked.</summary>
    private sealed class Delivery(IKernelEventSink sink, RecordDecoder? decoder)
    {
        private readonly byte[] _record = new byte[RecordEncoder.MaxRecordSize];
        private long _produced;
        private long _delivered;

        public long Produced => Volatile.Read(ref _produced);

        public long Delivered => Volatile.Read(ref _delivered);

        public void Send(KernelEvent kernelEvent)
        {
            Volatile.Write(ref _produced, _produced + 1);
            if (decoder is null)
            {
                Deliver(kernelEvent);
                return;
            }
            var length = kernelEvent switch
            {
                CloneEvent clone => RecordEncoder.WriteClone(_record, clone),
                ExecEvent exec => RecordEncoder.WriteExec(_record, exec),
                ExitEvent exit => RecordEncoder.WriteExit(_record, exit),
                HookEvent hook => RecordEncoder.WriteHook(_record, hook),
                _ => throw new InvalidOperationException($"no record layout for {kernelEvent.GetType().Name}"),
            };
            if (decoder.Decode(_record.AsSpan(0, length)) is { } decoded) Deliver(decoded);
        }

        private void Deliver(KernelEvent kernelEvent)
        {
            sink.OnEvent(kernelEvent);
            Volatile.Write(ref _delivered, _delivered + 1);
            if (_delivered % MaxBatchEvents == 0) sink.OnBatchEnd();
        }
    }

    private sealed class SyntheticProcess
    {
        public SyntheticProcess(ProcessKey key, ProcessKey parent, int[] threadIds, Credentials credentials)
        {
            Key = key;
            Parent = parent;
            ThreadIds = threadIds;
            ThreadCredentials = new Credentials[threadIds.Length];
            Array.Fill(ThreadCredentials, credentials);
        }

        public ProcessKey Key { get; }
        public ProcessKey Parent { get; }
        public int[] ThreadIds { get; }
        /// <summary>Each thread's own credentials; index 0 is the leader.</summary>
        public Credentials[] ThreadCredentials { get; }
    }

    /// <summary>One run's state: the random generator, the clock and the live processes.</summary>
    private sealed class SyntheticTree(SyntheticWorkload workload, Delivery delivery)
    {
        private const uint UnsetAuid = uint.MaxValue;
        private const ulong CgroupId = 4242;
        private const int GetppidNr = 110, OpenatNr = 257, SetresuidNr = 117;
        private const uint UnprivilegedId = 1000;
        private static readonly Credentials Root = default;
        private static readonly Credentials Unprivileged =
            new(UnprivilegedId, UnprivilegedId, UnprivilegedId, UnprivilegedId, UnprivilegedId, UnprivilegedId, UnprivilegedId, UnprivilegedId);
        private static readonly Capabilities AllCapabilities = new(0x1ff_ffff_ffff, 0x1ff_ffff_ffff, 0);
        private static readonly Capabilities NoCapabilities = default;
        private static readonly Namespaces InitNamespaces = new(
            4026531838, 4026531839, 4026531841, 4026531836, 4026531836, 4026531840, 4026531834, 4026531834, 4026531835, 4026531837);

        private static readonly (string Filename, ImmutableArray<string> Arguments)[] Images =
        [
            ("/usr/bin/bash", ["bash", "-c", "make -j2"]),
            ("/usr/bin/make", ["make", "-j2"]),
            ("/usr/bin/cc", ["cc", "-O2", "-c", "main.c", "-o", "main.o"]),
            ("/usr/bin/sleep", ["sleep", "0.1"]),
            ("/usr/bin/python3", ["python3", "-m", "http.server", ""]),
        ];

        private static readonly string[] WorkingDirectories = ["/", "/root", "/srv/build", "/tmp"];

        private readonly Random _random = new(workload.Seed);
        private readonly List<SyntheticProcess> _live = [];
        private ulong _ktime = 10_000_000_000;
        private int _nextPid = 2;

        public void Run(CancellationToken cancellationToken)
        {
            var root = new SyntheticProcess(new ProcessKey(1, 1_000_000_000), ProcessKey.None, [1], Root);
            delivery.Send(Exec(root, ProcessKey.None, root.Key.StartKtime, ExecFlags.Procfs));
            _live.Add(root);

            for (var index = 0; index < workload.Processes && !cancellationToken.IsCancellationRequested; index++)
            {
                var process = Spawn(index);
                MakeHookEvents(process, changesCredentials: workload.CredentialChangeEvery > 0
                                                            && (index + 1) % workload.CredentialChangeEvery == 0
                                                            && process.ThreadIds.Length > 1);
                _live.Add(process);
                if (_live.Count > workload.MaxLiveProcesses) ExitAt(1 + _random.Next(_live.Count - 1));
            }
            while (_live.Count > 1 && !cancellationToken.IsCancellationRequested) ExitAt(_live.Count - 1);
        }

        private SyntheticProcess Spawn(int index)
        {
            var parent = _live[_random.Next(_live.Count)];
            var credentials = parent.ThreadCredentials[0];
            var pid = _nextPid++;
            var forkKtime = Tick();
            delivery.Send(new CloneEvent(pid, pid, forkKtime, parent.Key, credentials, UnsetAuid, CgroupId));

            var threadIds = new int[workload.ThreadsPerProcess];
            threadIds[0] = pid;
            for (var i = 1; i < threadIds.Length; i++) threadIds[i] = _nextPid++;
            var process = new SyntheticProcess(new ProcessKey(pid, Tick()), parent.Key, threadIds, credentials);
            var image = Images[index % Images.Length];
            delivery.Send(Exec(process, new ProcessKey(pid, forkKtime), process.Key.StartKtime, ExecFlags.None, image));
            return process;
        }

        private ExecEvent Exec(SyntheticProcess process, ProcessKey replaced, ulong ktime, ExecFlags flags,
                               (string Filename, ImmutableArray<string> Arguments)? image = null)
        {
            var (filename, arguments) = image ?? ("/sbin/init", ["/sbin/init"]);
            var credentials = process.ThreadCredentials[0];
            return new ExecEvent(
                process.Key.Pid, process.Key.Pid, ktime, process.Parent, replaced, filename, arguments,
                WorkingDirectories[_random.Next(WorkingDirectories.Length)], credentials, CapabilitiesOf(credentials),
                InitNamespaces, UnsetAuid, CgroupId, flags);
        }

        /// <summary>A credential-changing process drops a non-leader thread to uid 1000 first and calls from it again last.</summary>
        private void MakeHookEvents(SyntheticProcess process, bool changesCredentials)
        {
            const int ChangingThread = 1;
            for (var i = 0; i < workload.HookEventsPerProcess; i++)
            {
                if (changesCredentials && i == 0)
                {
                    process.ThreadCredentials[ChangingThread] = Unprivileged;
                    delivery.Send(Hook(process, ChangingThread, SetresuidHookId, SetresuidNr, HookPhase.Exit, UnprivilegedId));
                    continue;
                }
                var thread = changesCredentials && i == workload.HookEventsPerProcess - 1
                    ? ChangingThread
                    : _random.Next(process.ThreadIds.Length);
                delivery.Send(_random.Next(2) == 0
                    ? Hook(process, thread, GetppidHookId, GetppidNr, HookPhase.Exit, (ulong)process.Parent.Pid)
                    : Hook(process, thread, OpenatHookId, OpenatNr, HookPhase.Enter, 0x7ffd_0000_1000));
            }
        }

        private HookEvent Hook(SyntheticProcess process, int thread, int hookId, int syscallNr, HookPhase phase, ulong firstArgument)
        {
            var arguments = new HookArguments();
            arguments[0] = firstArgument;
            arguments[1] = firstArgument;
            arguments[2] = firstArgument;
            var credentials = process.ThreadCredentials[thread];
            var returned = phase == HookPhase.Exit && hookId == GetppidHookId ? process.Parent.Pid : 0;
            return new HookEvent(
                process.Key.Pid, process.ThreadIds[thread], Tick(), process.Key.StartKtime, Hooks[hookId], phase, syscallNr,
                returned, credentials, CapabilitiesOf(credentials), InitNamespaces, arguments);
        }

        private void ExitAt(int liveIndex)
        {
            var process = _live[liveIndex];
            _live[liveIndex] = _live[^1];
            _live.RemoveAt(_live.Count - 1);
            // Mostly exit(0); one in eight killed by SIGKILL (signal in the low bits of the wait status).
            var exitCode = _random.Next(8) == 0 ? 9u : (uint)_random.Next(3) << 8;
            var lastThread = process.ThreadIds[_random.Next(process.ThreadIds.Length)];
            delivery.Send(new ExitEvent(process.Key.Pid, process.Key.Pid, Tick(), process.Key.StartKtime, exitCode, lastThread));
        }

        private static Capabilities CapabilitiesOf(Credentials credentials) =>
            credentials.Euid == 0 ? AllCapabilities : NoCapabilities;

        private ulong Tick() => _ktime += (ulong)_random.Next(1_000, 50_000);
    }
}
