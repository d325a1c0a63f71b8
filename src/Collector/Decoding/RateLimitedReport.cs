using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Forkline.Collector.Decoding;

/// <summary>
/// Lets one report through per interval and counts the ones it held back, so a flood of bad input
/// costs a counter increment each, not a log line each. Single-threaded, like its owner.
/// </summary>
internal sealed class RateLimitedReport
{
    private readonly ILogger? _logger;
    private readonly long _intervalTimestampTicks;
    private long _nextDueTimestamp;
    private long _suppressed;

    public RateLimitedReport(ILogger? logger, TimeSpan interval)
    {
        _logger = logger;
        _intervalTimestampTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>True when a report may go out now; the caller then builds the message and calls Send.</summary>
    public bool IsDue()
    {
        if (_logger is null) return false;
        if (Stopwatch.GetTimestamp() >= _nextDueTimestamp) return true;
        _suppressed++;
        return false;
    }

    public void Send(string message)
    {
        if (_logger is null) return;
        var text = _suppressed == 0
            ? message
            : string.Create(CultureInfo.InvariantCulture, $"{message} ({_suppressed} similar reports suppressed since the last one)");
        _suppressed = 0;
        _nextDueTimestamp = Stopwatch.GetTimestamp() + _intervalTimestampTicks;
        _logger.LogWarning("{Report}", text);
    }
}
