using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Dispatch;
using Akka.Event;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MelLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Forkline.Hosting;

/// <summary>The node's logger factory, handed to <see cref="AkkaLoggerBridge"/> through the actor system's setup.</summary>
public sealed class LoggerFactorySetup(ILoggerFactory loggerFactory) : Setup
{
    public ILoggerFactory LoggerFactory { get; } = loggerFactory;
}

/// <summary>
/// Akka's logger (akka.loggers): every Akka log event goes to the node's <see cref="ILoggerFactory"/>,
/// under the category of the class that logged it. Akka's own standard-out logger is never used: stdout
/// carries events only.
/// </summary>
public sealed class AkkaLoggerBridge : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly Dictionary<string, ILogger> _loggers = [];
    private readonly ILoggerFactory _factory;

    public AkkaLoggerBridge()
    {
        var setup = Context.System.Settings.Setup.Get<LoggerFactorySetup>();
        _factory = setup.HasValue ? setup.Value.LoggerFactory : NullLoggerFactory.Instance;
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(Log);
    }

    /// <summary>Akka.Remote's exception for an association the peer ended; internal to Akka.Remote, so known by name.</summary>
    public const string PeerGoneException = "Akka.Remote.EndpointDisassociatedException";

    private void Log(LogEvent logEvent)
    {
        // Logging.GetLogger(system, "name") logs under a placeholder class; the name it was given says more.
        var category = logEvent.LogClass is null || logEvent.LogClass == typeof(DummyClassForStringSources)
            ? logEvent.LogSource
            : logEvent.LogClass.FullName ?? logEvent.LogClass.Name;
        if (!_loggers.TryGetValue(category, out var logger))
        {
            logger = _factory.CreateLogger(category);
            _loggers[category] = logger;
        }
        var level = LevelOf(logEvent.LogLevel());
        var cause = logEvent.Cause;
        if (cause?.GetType().FullName == PeerGoneException)
        {
            // A peer that went away (killed, stopped, cut off) fails its endpoint writer, and Akka's supervisor
            // logs that as an error with a stack trace beside remoting's own warning of the same fact: an
            // everyday event of a cluster, one warning line.
            level = MelLogLevel.Warning;
            cause = null;
        }
        if (!logger.IsEnabled(level)) return;
        logger.Log(level, cause, "[{AkkaSource}] {AkkaMessage}", logEvent.LogSource, logEvent.Message);
    }

    private static MelLogLevel LevelOf(Akka.Event.LogLevel level) => level switch
    {
        Akka.Event.LogLevel.DebugLevel => MelLogLevel.Debug,
        Akka.Event.LogLevel.InfoLevel => MelLogLevel.Information,
        Akka.Event.LogLevel.WarningLevel => MelLogLevel.Warning,
        _ => MelLogLevel.Error,
    };
}
