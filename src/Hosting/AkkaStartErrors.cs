using Microsoft.Extensions.Logging;

namespace Forkline.Hosting;

/// <summary>
/// Akka's loggers (<see cref="AkkaLoggerBridge"/>) while a node starts. Akka reports a failure to start
/// itself, with the stack ("Failed to bind to ...", "Remoting error: [Startup failed]"), and again as the
/// failed node stops ("Remoting system has been terminated abruptly"), while the node's command says the
/// same in one line (<see cref="NodeStartFailure.Of"/>). So Akka's errors wait for the start to end:
/// written out once the node started (<see cref="Release"/>), dropped with those that follow if it did not
/// (<see cref="Drop"/>). Other levels pass at once.
/// </summary>
public sealed class AkkaStartErrors(ILoggerFactory loggers) : ILoggerFactory
{
    private enum Phase
    {
        Starting,
        Started,
        Failed,
    }

    private readonly Lock _lock = new();
    private readonly List<Action> _held = [];
    private Phase _phase;

    public ILogger CreateLogger(string categoryName) => new HeldWhileStarting(this, loggers.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => loggers.AddProvider(provider);

    /// <summary>The start ended with no one-line report (the node started, or the start was cancelled): the held errors are written out, later ones at once.</summary>
    public void Release()
    {
        Action[] held;
        lock (_lock)
        {
            _phase = Phase.Started;
            held = [.. _held];
            _held.Clear();
        }
        foreach (var write in held) write();
    }

    /// <summary>The node did not start and its one line says why: Akka's errors of the start, and of the stop that follows it, are dropped.</summary>
    public void Drop()
    {
        lock (_lock)
        {
            _phase = Phase.Failed;
            _held.Clear();
        }
    }

    /// <summary>False when the entry is to be written now.</summary>
    private bool Held(Action write)
    {
        lock (_lock)
        {
            if (_phase == Phase.Started) return false;
            if (_phase == Phase.Starting) _held.Add(write);
            return true;
        }
    }

    // The node's loggers belong to the command that made them; it disposes them after the host.
    public void Dispose()
    {
    }

    private sealed class HeldWhileStarting(AkkaStartErrors errors, ILogger logger) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => logger.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logger.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error && errors.Held(() => logger.Log(logLevel, eventId, state, exception, formatter))) return;
            logger.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
