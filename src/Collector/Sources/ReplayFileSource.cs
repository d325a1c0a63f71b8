using System.Diagnostics;
using Forkline.Collector.Decoding;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Events;
using Microsoft.Extensions.Logging;

namespace Forkline.Collector.Sources;

public enum ReplayPacing
{
    AsFastAsPossible,
    /// <summary>
    /// Events keep their recorded spacing (by ktime). Procfs bootstrap execs carry process start times
    /// from long ago and events that arrived out of order carry earlier ktimes: both go out at once.
    /// </summary>
    ByKtime,
}

/// <summary>
/// Plays a capture written by <see cref="CaptureWriter"/>: each record goes through a
/// <see cref="RecordDecoder"/> built from the capture's own hook policy, so bad records are counted
/// and reported exactly as live ones are. A file cut inside a record ends the replay with a report
/// and one count of <see cref="DecodeError.Truncated"/>.
/// </summary>
public sealed class ReplayFileSource : IEventSource
{
    /// <summary>Events handed on as one batch at most, when the capture is read faster than paced.</summary>
    public const int MaxBatchEvents = 256;

    private readonly string _path;
    private readonly ReplayPacing _pacing;
    private readonly ILogger? _logger;
    private long _recordsRead;
    private long _delivered;

    public ReplayFileSource(string path, ReplayPacing pacing = ReplayPacing.AsFastAsPossible, DecodeCounters? counters = null, ILogger? logger = null)
    {
        _path = path;
        _pacing = pacing;
        _logger = logger;
        Counters = counters ?? new DecodeCounters();
    }

    public string Name => $"replay:{_path}";

    public DecodeCounters Counters { get; }

    /// <summary>Produced: records read from the capture, a cut-off last one included (it counts as malformed).</summary>
    public SourceCounts Counts => new(
        Produced: Volatile.Read(ref _recordsRead), Bootstrapped: 0, Lost: 0, Discarded: 0,
        Malformed: Counters.TotalRejected, Delivered: Volatile.Read(ref _delivered));

    /// <summary>The capture's header, once the replay has opened the file.</summary>
    public CaptureHeader? Header { get; private set; }

    public Task RunAsync(IKernelEventSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return Task.Factory.StartNew(
            () => Replay(sink, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Replay(IKernelEventSink sink, CancellationToken cancellationToken)
    {
        try
        {
            ReplayRecords(sink, cancellationToken);
        }
        finally
        {
            sink.OnBatchEnd();
        }
    }

    private void ReplayRecords(IKernelEventSink sink, CancellationToken cancellationToken)
    {
        using var reader = CaptureReader.Open(_path);
        Header = reader.Header;
        var decoder = new RecordDecoder(reader.Header.Hooks, Counters, _logger,
            captureLocation: () => $"{_path}: record {reader.RecordsRead} at offset {reader.LastRecordOffset}");
        var clock = new ReplayClock();
        var inBatch = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var result = reader.TryRead(out var record);
            if (result == CaptureReadResult.EndOfCapture) return;
            Volatile.Write(ref _recordsRead, _recordsRead + 1);
            if (result != CaptureReadResult.Record)
            {
                Counters.CountRejected(result switch
                {
                    CaptureReadResult.TruncatedTail => DecodeError.Truncated,
                    CaptureReadResult.ChecksumMismatch => DecodeError.ChecksumMismatch,
                    _ => DecodeError.SizeMismatch,
                });
                _logger?.LogError("{Problem}; replay stopped after {Records} records", reader.LastProblem, reader.RecordsRead);
                return;
            }
            var kernelEvent = decoder.Decode(record);
            if (kernelEvent is null) continue;
            if (_pacing == ReplayPacing.ByKtime && !clock.WaitFor(kernelEvent, sink, cancellationToken)) return;
            sink.OnEvent(kernelEvent);
            Volatile.Write(ref _delivered, _delivered + 1);
            if (++inBatch < MaxBatchEvents) continue;
            sink.OnBatchEnd();
            inBatch = 0;
        }
    }

    /// <summary>Maps recorded ktimes onto elapsed time since the first paced event.</summary>
    private sealed class ReplayClock
    {
        private ulong _firstKtime;
        private ulong _latestKtime;
        private long _startTimestamp;

        /// <summary>Sleeps until the event is due, ending the sink's batch first; false when cancelled meanwhile.</summary>
        public bool WaitFor(KernelEvent kernelEvent, IKernelEventSink sink, CancellationToken cancellationToken)
        {
            if (kernelEvent is ExecEvent exec && exec.Flags.HasFlag(ExecFlags.Procfs)) return true;
            if (_startTimestamp == 0)
            {
                _firstKtime = _latestKtime = kernelEvent.Ktime;
                _startTimestamp = Stopwatch.GetTimestamp();
                return true;
            }
            if (kernelEvent.Ktime <= _latestKtime) return true;
            _latestKtime = kernelEvent.Ktime;
            var due = TimeSpan.FromTicks((long)(kernelEvent.Ktime - _firstKtime) / 100);
            var wait = due - Stopwatch.GetElapsedTime(_startTimestamp);
            if (wait <= TimeSpan.Zero) return true;
            sink.OnBatchEnd();
            return !cancellationToken.WaitHandle.WaitOne(wait);
        }
    }
}
