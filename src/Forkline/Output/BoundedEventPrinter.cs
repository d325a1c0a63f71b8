using System.Threading.Channels;
using Forkline.Contracts.Events;

namespace Forkline.Output;

/// <summary>
/// Sink that hands events to a printer task through a bounded channel, so a slow terminal never
/// holds up the ring-buffer reader: when the channel is full the event is dropped and counted.
/// </summary>
public sealed class BoundedEventPrinter : IKernelEventSink
{
    public const int DefaultCapacity = 65536;

    private readonly Channel<KernelEvent> _channel;
    private readonly IRawEventFormat _format;
    private long _dropped;

    public BoundedEventPrinter(IRawEventFormat format, int capacity = DefaultCapacity)
    {
        _format = format;
        _channel = Channel.CreateBounded<KernelEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: full -> false, the event is ours to count
            SingleReader = true,
            SingleWriter = true,
        });
        Printing = Task.Run(PrintAsync);
    }

    /// <summary>Events the printer could not keep up with.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Ends when <see cref="Complete"/> was called and every queued event is printed.</summary>
    public Task Printing { get; }

    public void OnEvent(KernelEvent kernelEvent)
    {
        if (!_channel.Writer.TryWrite(kernelEvent)) Interlocked.Increment(ref _dropped);
    }

    /// <summary>No more events will come; the printer finishes the queue.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    private async Task PrintAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var kernelEvent)) _format.Write(kernelEvent);
            _format.Flush();
        }
    }
}
