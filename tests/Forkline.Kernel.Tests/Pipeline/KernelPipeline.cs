using Akka.Actor;
using Forkline.Collector.Bpf;
using Forkline.Collector.Hooks;
using Forkline.Collector.Procfs;
using Forkline.Collector.Sources;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;
using Forkline.ProcessActors;
using Forkline.ProcessActors.Metrics;

namespace Forkline.Kernel.Tests.Pipeline;

/// <summary>
/// The `forkline run` pipeline on the real kernel: a <see cref="BpfEventSource"/> feeding a
/// <see cref="ProcessPipeline"/> in the given actor system, whose enriched events go to
/// <see cref="Events"/> and to any further sinks (a gateway forwarder).
/// </summary>
internal sealed class KernelPipeline : IAsyncDisposable
{
    public static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private bool _stopped;

    private KernelPipeline(ProcessPipeline pipeline, MeterValues metrics, BpfEventSource source, CollectingEnrichedSink events, string nodeName,
        Func<KernelEvent, bool>? lose, ManualResetEventSlim? readerGate)
    {
        Pipeline = pipeline;
        Source = source;
        Metrics = metrics;
        Events = events;
        NodeName = nodeName;
        // BpfEventSource attaches before its first await: once RunAsync returns, the kernel is watched.
        IKernelEventSink sink = lose is null ? pipeline : new LosingSink(pipeline, lose);
        _run = source.RunAsync(readerGate is null ? sink : new GatedSink(sink, readerGate), _stop.Token);
    }

    public ProcessPipeline Pipeline { get; }

    public BpfEventSource Source { get; }

    /// <summary>What the pipeline's meter shows.</summary>
    public MeterValues Metrics { get; }

    public CollectingEnrichedSink Events { get; }

    public string NodeName { get; }

    /// <summary>
    /// Starts collecting and waits until the procfs bootstrap has reached the sinks as the test process's
    /// exec, so everything the test starts afterwards has its whole lineage.
    /// </summary>
    /// <param name="capture">Also records every raw record (bootstrap included) for a later replay.</param>
    /// <param name="ringSizeBytes">The BPF ring's size; default: the collector's.</param>
    /// <param name="storedIdentities">Reconciles the procfs bootstrap with a stored host tree, as the node commands do.</param>
    /// <param name="tune">Changes the process actors' settings.</param>
    /// <param name="lose">Kernel events it is true for are lost on purpose between the ring and the process actors.</param>
    /// <param name="readerGate">
    /// While reset, the ring's reader waits with the next record it hands on: the ring stops draining and fills, as behind a
    /// stalled reader, and the kernel loses what does not fit. Set it again before the pipeline stops.
    /// </param>
    public static async Task<KernelPipeline> StartAsync(ActorSystem system, string nodeName, Action<string> log, HookPolicy hooks,
        CaptureWriter? capture = null, IEnumerable<IEnrichedEventSink>? moreSinks = null, uint? ringSizeBytes = null,
        StoredIdentities? storedIdentities = null, Func<ProcessActorSettings, ProcessActorSettings>? tune = null, Func<KernelEvent, bool>? lose = null,
        ManualResetEventSlim? readerGate = null)
    {
        var events = new CollectingEnrichedSink();
        var settings = new ProcessActorSettings { NodeName = nodeName, AncestorDepth = ProcessActorSettings.AncestorsUpToInit };
        if (tune is not null) settings = tune(settings);
        var metrics = new MeterValues();
        var pipeline = ProcessPipeline.Start(system, settings, new ProcessActorMetrics(metrics), [events, .. moreSinks ?? []]);
        var options = new BpfCollectorOptions { Hooks = hooks, Capture = capture, LoggerFactory = new LineLoggerFactory(log), StoredIdentities = storedIdentities };
        var source = new BpfEventSource(ringSizeBytes is { } size ? options with { RingSizeBytes = size } : options);
        var session = new KernelPipeline(pipeline, metrics, source, events, nodeName, lose, readerGate);
        try
        {
            await session.WaitForBootstrapAsync();
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    private async Task WaitForBootstrapAsync()
    {
        var thisProcess = ThisProcess.ExecId(NodeName);
        var bootstrapped = Events.WaitFor<EnrichedExec>(exec => exec.Process.ExecId == thisProcess,
            $"procfs exec of the test process {thisProcess.Key}", EventTimeout);
        // A source that fails to attach ends at once: surface its BpfException rather than a timeout.
        if (await Task.WhenAny(bootstrapped, _run) == _run) await _run;
        await bootstrapped;
    }

    /// <summary>Detaches from the kernel and lets every event collected so far reach the sinks.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await _stop.CancelAsync();
        await _run;
        await Pipeline.StopAsync(StopTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        Metrics.Dispose();
    }

    /// <summary>Loses chosen events the way a full ring buffer would: the process actors never get them.</summary>
    private sealed class LosingSink(IKernelEventSink inner, Func<KernelEvent, bool> lose) : IKernelEventSink
    {
        public void OnEvent(KernelEvent kernelEvent)
        {
            if (!lose(kernelEvent)) inner.OnEvent(kernelEvent);
        }

        public void OnBatchEnd() => inner.OnBatchEnd();
    }

    /// <summary>Holds the ring's reader thread while the gate is reset: the record it holds stays unconsumed, and so do all after it.</summary>
    private sealed class GatedSink(IKernelEventSink inner, ManualResetEventSlim gate) : IKernelEventSink
    {
        public void OnEvent(KernelEvent kernelEvent)
        {
            gate.Wait();
            inner.OnEvent(kernelEvent);
        }

        public void OnBatchEnd() => inner.OnBatchEnd();
    }
}
