using Microsoft.Extensions.Logging;

namespace Forkline.Hosting;

/// <summary>
/// A node that did not start (<see cref="NodeHost.StartAsync"/>): what failed, in one line for the operator,
/// whatever raised it (Akka.Remote binding its port, a persistence plugin, our own parts).
/// </summary>
public static class NodeStartFailure
{
    /// <summary>The Generic Host logs a start failure itself (with the stack); the node's command says it once, in one line.</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private static readonly EventId HostedServiceStartupFaulted = new(11);

    /// <summary>
    /// The failure as an <see cref="InvalidOperationException"/> the node commands report in one line: ours already
    /// read so; another's causes are joined, without the wrappers (AggregateException) the start put around them.
    /// </summary>
    public static InvalidOperationException Of(Exception failure)
    {
        if (failure is InvalidOperationException { InnerException: not AggregateException } ours && !ours.Message.Contains('\n')) return ours;
        var causes = new List<string>();
        for (var cause = failure; cause is not null; cause = cause.InnerException)
        {
            if (cause is AggregateException) continue;
            var message = cause.Message.Replace(" See InnerException for details.", "", StringComparison.Ordinal).ReplaceLineEndings(" ").Trim().TrimEnd('.');
            if (message.Length > 0 && !causes.Contains(message)) causes.Add(message);
        }
        return new InvalidOperationException($"the node did not start: {string.Join(": ", causes)}", failure);
    }

    /// <summary>The node's loggers, without the Generic Host's own report of a start failure (<see cref="Of"/> reports it).</summary>
    public static ILoggerFactory Quieted(ILoggerFactory loggers) => new QuietStartFailure(loggers);

    private sealed class QuietStartFailure(ILoggerFactory loggers) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) =>
            categoryName == HostCategory ? new WithoutStartFailure(loggers.CreateLogger(categoryName)) : loggers.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider) => loggers.AddProvider(provider);

        // The command that made the loggers disposes them, after the host.
        public void Dispose()
        {
        }
    }

    private sealed class WithoutStartFailure(ILogger logger) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => logger.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logger.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != HostedServiceStartupFaulted.Id) logger.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
