using System.Diagnostics;
using Forkline.Collector.Decoding;
using Forkline.Collector.Hooks;
using Forkline.Collector.Procfs;
using Forkline.Collector.RingBuffer;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Events;
using Forkline.Export;
using Microsoft.Extensions.Logging;

namespace Forkline.Collector.Bpf;

/// <summary>
/// The kernel side of the collector: loads bpf/forkline.bpf.o, selects the hooks of the policy,
/// attaches every program, then (in Run) emits the procfs bootstrap and drains the ring buffer on
/// the calling thread. Dispose detaches every program and frees the maps.
/// </summary>
public sealed class BpfCollector : IDisposable
{
    private const string EventsMap = "fl_events";
    private const string LeadersMap = "fl_leaders";
    private const string HookSelectionMap = "fl_hook_sel";
    private const string LostMap = "fl_lost";
    private const string ProducedMap = "fl_produced";

    // After detaching, a program that was already running on another CPU may still submit; the final
    // drain waits for the ring to account for every reservation, this many times 1 ms at most.
    private const int FinalDrainAttempts = 200;
    private const string KprobeProgram = "fl_kprobe";
    private const string SyscallEnterProgram = "fl_sys_enter";
    private static readonly string[] AlwaysAttached = ["fl_fork", "fl_exec", "fl_exit", "fl_sys_exit"];

    private readonly BpfObject _object;
    private readonly BpfCollectorOptions _options;
    private readonly RingBufferReader _reader;
    private readonly RingBufferWaiter _waiter;
    private readonly KindCounterReader _losses;
    private readonly KindCounterReader _produced;

    // Readers of their own for Counts (another thread); the lock keeps Dispose from freeing the maps under them.
    private readonly KindCounterReader _lossesForCounts;
    private readonly KindCounterReader _producedForCounts;
    private readonly Lock _countsLock = new();
    private volatile bool _kernelCountsFinal;
    private readonly BpfMap _leaders;
    private readonly RecordDecoder _decoder;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ManualResetEventSlim _notRunning = new(initialState: true);
    private Thread? _runner;
    private int _runs;
    private int _disposed;
    private long _bootstrapped;

    private BpfCollector(BpfObject bpfObject, BpfCollectorOptions options, IReadOnlyList<string> skippedHooks)
    {
        _object = bpfObject;
        _options = options;
        SkippedHooks = skippedHooks;
        _leaders = new BpfMap(LeadersMap, bpfObject.MapFd(LeadersMap));
        _losses = new KindCounterReader(new BpfMap(LostMap, bpfObject.MapFd(LostMap)));
        _produced = new KindCounterReader(new BpfMap(ProducedMap, bpfObject.MapFd(ProducedMap)));
        _lossesForCounts = new KindCounterReader(new BpfMap(LostMap, bpfObject.MapFd(LostMap)));
        _producedForCounts = new KindCounterReader(new BpfMap(ProducedMap, bpfObject.MapFd(ProducedMap)));
        _log = options.LoggerFactory.CreateLogger<BpfCollector>();
        _decoder = new RecordDecoder(options.Hooks.Descriptors, new DecodeCounters(), options.LoggerFactory.CreateLogger<RecordDecoder>(),
            pods: options.Pods, containerIdentity: options.ContainerIdentity, hostNamespaces: ReadHostNamespaces(_log));
        var eventsFd = bpfObject.MapFd(EventsMap);
        _reader = new RingBufferReader(eventsFd, options.RingSizeBytes);
        _waiter = new RingBufferWaiter(eventsFd);
        _reader.Touch();
    }

    public RingBufferMetrics Metrics => _reader.Metrics;

    private static Namespaces? ReadHostNamespaces(ILogger log)
    {
        try
        {
            return HostNamespaces.Read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("host namespaces unreadable ({Problem}); no namespace is marked the host's own (JSON leaves \"is_host\" out)", e.Message);
            return null;
        }
    }

    public DecodeCounters DecodeCounters => _decoder.Counters;

    /// <summary>
    /// The run's loss accounting so far, the kernel's counters read now, last, so nothing read here shows
    /// more out of the ring than the kernel put in. Exact once <see cref="Run"/> has returned: the programs
    /// are detached and the ring drained before the last reading of the kernel's counters.
    /// </summary>
    public SourceCounts Counts
    {
        get
        {
            var delivered = _decoder.Counters.Decoded;
            var malformed = _decoder.Counters.TotalRejected;
            var discarded = Metrics.Discarded;
            var bootstrapped = Volatile.Read(ref _bootstrapped);
            var (lost, produced) = KernelTotalsNow();
            return new SourceCounts(produced, bootstrapped, lost, discarded, malformed, delivered);
        }
    }

    /// <summary>Names of policy hooks that could not be attached on this kernel (each was logged once).</summary>
    public IReadOnlyList<string> SkippedHooks { get; }

    /// <summary>Links in place: one per attached program or kprobe.</summary>
    public int AttachedLinks => _object.LinkCount;

    /// <summary>What the procfs bootstrap of the current run did; null before it ran.</summary>
    public ProcfsBootstrapResult? Bootstrap { get; private set; }

    /// <summary>Preflights, opens, configures, loads and attaches. Throws <see cref="BpfException"/> with a one-line cause and fix.</summary>
    public static BpfCollector Start(BpfCollectorOptions options)
    {
        CollectorPreflight.Check(options.ObjectPath);
        ValidateRingSize(options.RingSizeBytes);
        var bpfObject = BpfObject.Open(options.ObjectPath);
        try
        {
            var policy = options.Hooks;
            bpfObject.SetMaxEntries(EventsMap, options.RingSizeBytes);
            bpfObject.SetReadOnlyUInt32("fl_wakeup_bytes", options.WakeupBytes ?? options.RingSizeBytes / 8);
            bpfObject.SetReadOnlyUInt32("fl_self_tgid", (uint)options.IgnoreHooksOfPid);
            var selection = HookSelectionTable.From(policy);
            var kprobesMissing = HasKprobeHooks(policy) ? KprobeSupport.FindMissing() : null;
            var skipped = new List<string>();
            var log = options.LoggerFactory.CreateLogger<BpfCollector>();
            if (kprobesMissing is not null) SkipKprobeHooks(policy, kprobesMissing, skipped, log);
            bpfObject.SetAutoload(KprobeProgram, HasKprobeHooks(policy) && kprobesMissing is null);
            bpfObject.SetAutoload(SyscallEnterProgram, selection.HasEnterHooks);
            bpfObject.Load();

            selection.WriteTo(new BpfMap(HookSelectionMap, bpfObject.MapFd(HookSelectionMap)));
            foreach (var program in AlwaysAttached) bpfObject.Attach(program);
            if (selection.HasEnterHooks) bpfObject.Attach(SyscallEnterProgram);
            if (kprobesMissing is null) AttachKprobeHooks(bpfObject, policy, skipped, log);
            return new BpfCollector(bpfObject, options, skipped);
        }
        catch
        {
            bpfObject.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Emits the procfs bootstrap, then drains the ring into sink until cancelled (or Dispose).
    /// Blocks the calling thread; one run per collector.
    /// </summary>
    public void Run(IKernelEventSink sink, CancellationToken cancellationToken)
    {
        BeginRun();
        RunBegun(sink, cancellationToken);
    }

    /// <summary>Runs <see cref="Run"/> on a dedicated thread; the task ends when the run does.</summary>
    public Task RunOnDedicatedThread(IKernelEventSink sink, CancellationToken cancellationToken)
    {
        // Begun here, not on the new thread, so a Dispose right after this call still waits for the run.
        BeginRun();
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                RunBegun(sink, cancellationToken);
                completion.SetResult();
            }
            catch (Exception e)
            {
                completion.SetException(e);
            }
        })
        {
            Name = "forkline-ring-reader",
            IsBackground = true,
        };
        thread.Start();
        return completion.Task;
    }

    private void BeginRun()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Increment(ref _runs) != 1)
            throw new InvalidOperationException("BpfCollector.Run was called twice; a collector drains its ring from one thread, once");
        _notRunning.Reset();
    }

    private void RunBegun(IKernelEventSink sink, CancellationToken cancellationToken)
    {
        _runner = Thread.CurrentThread;
        try
        {
            Drain(sink, cancellationToken);
        }
        finally
        {
            _notRunning.Set();
        }
    }

    private void Drain(IKernelEventSink sink, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var stop = linked.Token;
        using var interrupt = stop.Register(_waiter.Interrupt);

        // Programs are attached already, so a process forked during the scan is seen by BPF; its
        // ring records are delivered after the procfs ones.
        var handler = new DecodingRecordHandler(_decoder, sink, _options.Capture);
        if (_options.BootstrapFromProcfs)
        {
            Bootstrap = ProcfsBootstrap.Run(_leaders, ref handler, ref _bootstrapped, _options.StoredIdentities, _options.LoggerFactory.CreateLogger<ProcfsScanner>());
            sink.OnBatchEnd();
        }

        var batchWindowMs = (int)_options.DrainInterval.TotalMilliseconds;
        var lossReadTicks = (long)(_options.LossReadInterval.TotalSeconds * Stopwatch.Frequency);
        var idleWaitMs = Math.Max(1, (int)_options.LossReadInterval.TotalMilliseconds);
        var nextLossRead = Stopwatch.GetTimestamp() + lossReadTicks;
        while (!stop.IsCancellationRequested)
        {
            // Woken by the first record of a batch: the rest of the batch arrives while we sleep out the
            // window, so a storm costs one wakeup and one drain per window, not one per record.
            if (_waiter.Wait(idleWaitMs) && batchWindowMs > 0 && !stop.IsCancellationRequested) Thread.Sleep(batchWindowMs);
            if (_reader.Drain(ref handler) > 0) sink.OnBatchEnd();
            if (Stopwatch.GetTimestamp() < nextLossRead) continue;
            ReadKernelCounts();
            nextLossRead = Stopwatch.GetTimestamp() + lossReadTicks;
        }
        DrainDetached(ref handler);
        sink.OnBatchEnd();
    }

    /// <summary>Detaches every program, then drains until each reservation is read, lost or discarded.</summary>
    private void DrainDetached(ref DecodingRecordHandler handler)
    {
        _object.DetachAll();
        for (var attempt = 0; ; attempt++)
        {
            _reader.Drain(ref handler);
            ReadKernelCounts();
            var metrics = Metrics;
            var unread = metrics.Produced - metrics.Lost - metrics.Discarded - metrics.Records;
            if (unread > 0 && attempt == FinalDrainAttempts)
                _log.LogWarning("collector stop: {Unread} reserved ring records never arrived after the programs were detached; they count as in flight in the loss accounting", unread);
            if (unread <= 0 || attempt == FinalDrainAttempts)
            {
                _kernelCountsFinal = true;
                return;
            }
            Thread.Sleep(1);
        }
    }

    private void ReadKernelCounts() => Metrics.SetKernelCounts(_losses.Read(), _produced.Read());

    private (long Lost, long Produced) KernelTotalsNow()
    {
        lock (_countsLock)
        {
            if (_kernelCountsFinal || Volatile.Read(ref _disposed) != 0) return (Metrics.Lost, Metrics.Produced);
            var lost = Sum(_lossesForCounts.Read());
            return (lost, Sum(_producedForCounts.Read()));
        }
    }

    private static long Sum(ReadOnlySpan<ulong> byKind)
    {
        ulong total = 0;
        foreach (var count in byKind) total += count;
        return (long)total;
    }

    /// <summary>Stops a run (waiting for it, since the ring is unmapped here), detaches every program, frees the maps.</summary>
    public void Dispose()
    {
        lock (_countsLock)
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping.Cancel();
        if (_runner != Thread.CurrentThread) _notRunning.Wait();
        _waiter.Dispose();
        _reader.Dispose();
        _object.Dispose();
        _stopping.Dispose();
        _notRunning.Dispose();
    }

    private static void ValidateRingSize(uint size)
    {
        var page = (uint)Environment.SystemPageSize;
        if (size < page || !uint.IsPow2(size))
            throw new BpfException($"ring size {size} bytes is not a power of two of at least the page size ({page}) — use e.g. 16777216 (16 MiB)");
    }

    private static bool HasKprobeHooks(HookPolicy policy)
    {
        foreach (var hook in policy.Hooks)
            if (hook.Spec.Kind == HookKind.Kprobe) return true;
        return false;
    }

    private static void SkipKprobeHooks(HookPolicy policy, string reason, List<string> skipped, ILogger log)
    {
        foreach (var hook in policy.Hooks)
        {
            if (hook.Spec.Kind != HookKind.Kprobe) continue;
            skipped.Add(hook.Descriptor.Name);
            log.LogWarning("kprobes not available in this kernel: hook {Hook} skipped ({Reason})", hook.Descriptor.Name, reason);
        }
    }

    private static void AttachKprobeHooks(BpfObject bpfObject, HookPolicy policy, List<string> skipped, ILogger log)
    {
        foreach (var hook in policy.Hooks)
        {
            var spec = hook.Spec;
            if (spec.Kind != HookKind.Kprobe) continue;
            // The attach cookie is the hook id itself; fl_kprobe reads it with bpf_get_attach_cookie.
            var error = bpfObject.TryAttachKprobe(KprobeProgram, spec.Symbol!, (ulong)hook.Descriptor.Id, spec.Phase == HookPhase.Exit);
            if (error == 0) continue;
            var description = $"attaching {KprobeProgram} to {spec.Symbol} failed: {Native.Errno.Describe(error)}";
            if (error is not (Native.Errno.ENOENT or Native.Errno.EOPNOTSUPP or Native.Errno.ENOTSUPP))
                throw new BpfException($"kprobe hook {hook.Descriptor.Name}: {description} — fix the symbol in the hook policy or remove the hook", error);
            skipped.Add(hook.Descriptor.Name);
            log.LogWarning("kprobes not available in this kernel: hook {Hook} skipped ({Reason})", hook.Descriptor.Name, description);
        }
    }
}
