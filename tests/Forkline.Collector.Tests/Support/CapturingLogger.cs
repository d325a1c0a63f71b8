using System.Collections;
using Microsoft.Extensions.Logging;

namespace Forkline.Testing;

/// <summary>
/// Keeps every message logged to it (formatted, with its exception if any), for tests that check what a
/// component reported. As a factory it hands itself out for every category.
/// </summary>
public sealed class CapturingLogger : ILogger, ILoggerFactory, IEnumerable<string>
{
    private readonly Lock _lock = new();
    private readonly List<string> _messages = [];
    private readonly List<LogLevel> _levels = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var message = exception is null ? formatter(state, exception) : $"{formatter(state, exception)} {exception}";
        lock (_lock)
        {
            _messages.Add(message);
            _levels.Add(logLevel);
        }
    }

    /// <summary>Each message with the level it was logged at.</summary>
    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_lock) return _levels.Zip(_messages).ToList();
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException($"{nameof(CapturingLogger)} keeps the messages itself; it takes no providers");

    public void Dispose()
    {
    }

    public IEnumerator<string> GetEnumerator()
    {
        lock (_lock) return _messages.ToList().GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The messages, one a line.</summary>
    public override string ToString()
    {
        lock (_lock) return string.Concat(_messages.Select(m => m + "\n"));
    }
}
