using System.Buffers;
using Forkline.Contracts.Collections;
using Forkline.Contracts.Snapshots;
using Microsoft.Extensions.Logging;

namespace Forkline.Export;

/// <summary>What an <see cref="ExportSink"/> did: lines written, events dropped because the queue was
/// full (the output did not keep up), and failures: events that could not be formatted or written,
/// plus flushes that failed (each may lose the lines since the previous flush).</summary>
public readonly record struct ExportStatistics(long Written, long Dropped, long Failed);

/// <summary>
/// Exports enriched events: filters them on the caller's thread, queues them (bounded) and formats and
/// writes them on one writer task, so an actor never waits for a terminal or a disk. The writer is woken
/// once per batch (<see cref="OnBatchEnd"/>), writes the whole batch and flushes once: one wakeup and one
/// write to the output per batch, not per event. When the queue is full the event is dropped and counted;
/// failures to format or write are counted and reported (the first ones as they happen, the totals at
/// dispose). Dispose writes what is queued, flushes and closes the output.
/// </summary>
public sealed class ExportSink : IEnrichedEventSink, IAsyncDisposable, IDisposable
{
    public const int DefaultQueueCapacity = 16 * 1024;

    private const int ReportedFailures = 5;

    private readonly EventFilter _filter;
    private readonly IEventFormatter _formatter;
    private readonly IExportOutput _output;
    private readonly ILogger _log;
    private readonly int _queueCapacity;
    // Single consumer (the writer, then dispose once it ended). Not a ConcurrentQueue: it keeps the largest segment a burst made it grow to.
    private readonly CompactQueue<EnrichedEvent> _queue = new(32);
    private readonly SemaphoreSlim _doorbell = new(0);
    private readonly ArrayBufferWriter<byte> _line = new(4096);
    private readonly Task _writer;
    private int _queued;
    private int _rung;
    private volatile bool _completing;
    private long _written;
    private long _dropped;
    private long _failed;
    private int _disposed;

    /// <param name="formatter">Used by the writer task only.</param>
    /// <param name="output">Owned: disposed with the sink.</param>
    /// <param name="filter">Evaluated on the caller's thread, before queueing.</param>
    /// <param name="queueCapacity">Events that may wait for the writer; more are dropped and counted.</param>
    /// <param name="log">Where failures and the drop total are reported (never the output: it carries events only).</param>
    public ExportSink(IEventFormatter formatter, IExportOutput output, ILogger log, EventFilter? filter = null,
        int queueCapacity = DefaultQueueCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCapacity, 1);
        _formatter = formatter ?? throw new ArgumentNullException(nameof(formatter));
        _output = output ?? throw new ArgumentNullException(nameof(output));
        _filter = filter ?? EventFilter.Default;
        _log = log ?? throw new ArgumentNullException(nameof(log));
        _queueCapacity = queueCapacity;
        _writer = Task.Run(WriteQueuedAsync);
    }

    /// <summary>The sink the host wires to the process actors, from command-line style options.</summary>
    /// <param name="stdout">Where lines go when no file is set; default the process's stdout. Left open.</param>
    public static ExportSink Create(ExportOptions options, ILogger log, Stream? stdout = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var filter = EventFilter.Create(options.Filter);
        IEventFormatter formatter = options.Format == ExportFormat.Json
            ? new TetragonJsonFormatter(FieldMask.From(options.Fields))
            : new CompactFormatter(options.Emoji);
        IExportOutput output = options.FilePath is { } path
            ? new RotatingFileOutput(path, options.MaxFileBytes, options.KeepFiles)
            : new StreamExportOutput(stdout ?? Console.OpenStandardOutput(), leaveOpen: true);
        return new ExportSink(formatter, output, log, filter, options.QueueCapacity);
    }

    public ExportStatistics Statistics =>
        new(Interlocked.Read(ref _written), Interlocked.Read(ref _dropped), Interlocked.Read(ref _failed));

    /// <summary>
    /// Never blocks: an event that does not fit in the queue (or comes after dispose) is counted as dropped.
    /// Queued events are written at the next <see cref="OnBatchEnd"/> (or dispose).
    /// </summary>
    public void OnEnriched(EnrichedEvent enriched)
    {
        if (!_filter.Matches(enriched)) return;
        if (_completing || Interlocked.Increment(ref _queued) > _queueCapacity)
        {
            if (!_completing) Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _dropped);
            return;
        }
        _queue.Enqueue(enriched);
    }

    /// <summary>Wakes the writer for what is queued (once, however many batches end before it runs).</summary>
    public void OnBatchEnd()
    {
        if (Interlocked.Exchange(ref _rung, 1) == 0) _doorbell.Release();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _completing = true;
        _doorbell.Release();
        try
        {
            await _writer.ConfigureAwait(false);
            // An event queued while the writer finished (OnEnriched raced with dispose) is dropped, and counted.
            while (_queue.TryDequeue(out _)) Interlocked.Increment(ref _dropped);
        }
        finally
        {
            try
            {
                _output.Dispose();
            }
            finally
            {
                _doorbell.Dispose();
                ReportTotals();
            }
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task WriteQueuedAsync()
    {
        try
        {
            while (true)
            {
                await _doorbell.WaitAsync().ConfigureAwait(false);
                Volatile.Write(ref _rung, 0);
                var completing = _completing;
                var wrote = false;
                while (_queue.TryDequeue(out var enriched))
                {
                    Interlocked.Decrement(ref _queued);
                    Write(enriched);
                    wrote = true;
                }
                if (wrote) Flush();
                if (completing) return;
            }
        }
        catch (Exception e)
        {
            // Said now, not at dispose: from here on every event is dropped.
            _log.LogCritical(e, "the export writer stopped, no more events will be exported");
            throw;
        }
    }

    private void Write(EnrichedEvent enriched)
    {
        try
        {
            _line.ResetWrittenCount();
            _formatter.Format(enriched, _line);
            _output.WriteLine(_line.WrittenSpan);
            Interlocked.Increment(ref _written);
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or UnauthorizedAccessException)
        {
            ReportFailure($"{enriched.Kind} event of pid {enriched.Process.Pid} ({enriched.Process.Binary}) not exported", e);
        }
    }

    private void Flush()
    {
        try
        {
            _output.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ReportFailure("flushing the export output failed; lines written since the last flush may be lost", e);
        }
    }

    private void ReportFailure(string what, Exception e)
    {
        var failures = Interlocked.Increment(ref _failed);
        if (failures > ReportedFailures) return;
        var more = failures == ReportedFailures ? " (further failures are only counted; the total is reported at shutdown)" : "";
        _log.LogError("{What}: {Error}{More}", what, e.Message, more);
    }

    private void ReportTotals()
    {
        var statistics = Statistics;
        if (statistics.Dropped > 0)
            _log.LogWarning(
                "dropped {Dropped} events because the output did not keep up (queue of {QueueCapacity}); " +
                "raise the export queue capacity, narrow the filters, or export to a file", statistics.Dropped, _queueCapacity);
        if (statistics.Failed > 0)
            _log.LogError("{Failed} events or flushes failed to be written; see the first errors above", statistics.Failed);
    }
}
