using Forkline.Collector.Bpf;
using Forkline.Collector.Hooks;
using Forkline.Contracts.Events;
using Xunit.Abstractions;
using Forkline.Kernel.Tests.Pipeline;

namespace Forkline.Kernel.Tests;

/// <summary>A real collector attached to the kernel for one test, delivering into a <see cref="CollectingSink"/>.</summary>
internal sealed class CollectorSession : IDisposable
{
    public static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(30);

    private readonly BpfCollector _collector;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    private CollectorSession(BpfCollector collector)
    {
        _collector = collector;
        _run = collector.RunOnDedicatedThread(Events, _stop.Token);
    }

    public CollectingSink Events { get; } = new();

    public BpfCollector Collector => _collector;

    public static CollectorSession Start(ITestOutputHelper output, params HookSpec[] hooks) =>
        new(BpfCollector.Start(new BpfCollectorOptions
        {
            Hooks = HookPolicy.Create(hooks),
            LoggerFactory = new LineLoggerFactory(output.WriteLine),
        }));

    /// <summary>Stops draining (after a last drain of everything already in the ring) and returns all events.</summary>
    public async Task<List<KernelEvent>> StopAsync()
    {
        await _stop.CancelAsync();
        await _run;
        return Events.Snapshot();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _collector.Dispose();
        _stop.Dispose();
    }
}
