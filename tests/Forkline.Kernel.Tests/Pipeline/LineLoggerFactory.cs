using Microsoft.Extensions.Logging;

namespace Forkline.Kernel.Tests.Pipeline;

/// <summary>Hands every log entry, as "category: message", to a line writer such as a test's output.</summary>
public sealed class LineLoggerFactory(Action<string> writeLine) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new LineLogger(categoryName, writeLine);

    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException($"{nameof(LineLoggerFactory)} writes lines itself; it takes no providers");

    public void Dispose()
    {
    }

    private sealed class LineLogger(string category, Action<string> writeLine) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            writeLine($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : $" ({exception})")}");
    }
}
