using System.CommandLine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Forkline.Logging;

public enum LogFormat
{
    /// <summary>One line an entry, for people: time, level, category, message.</summary>
    Console,

    /// <summary>One JSON object a line, for log shippers.</summary>
    Json,
}

/// <summary>
/// The logs of a node command (run, collector, collector-node, gateway): every entry goes to stderr,
/// whatever its level, because stdout carries the event stream and nothing else.
/// </summary>
public static class NodeLogging
{
    public static Option<LogFormat> FormatOption { get; } = new("--log-format")
    {
        Description = "Logs on stderr as console lines (default) or json (one object a line, for log shippers); stdout carries events only",
        DefaultValueFactory = _ => LogFormat.Console,
    };

    /// <summary>
    /// The factory a command's node logs into; dispose it last, it writes out what is still queued.
    /// From here on Console.Out is stderr too: a library that prints (Akka's standard-out logger does,
    /// around the start and stop of its logging) cannot put a line into the event stream, which is
    /// written to the stdout stream itself (Console.OpenStandardOutput).
    /// </summary>
    public static ILoggerFactory Create(ParseResult parse)
    {
        Console.SetOut(Console.Error);
        return Create(parse.GetValue(FormatOption));
    }

    public static ILoggerFactory Create(LogFormat format, LogLevel minimum = LogLevel.Information) => LoggerFactory.Create(logging =>
    {
        logging.SetMinimumLevel(minimum);
        logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        if (format == LogFormat.Json)
        {
            logging.AddJsonConsole(json =>
            {
                json.UseUtcTimestamp = true;
                json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            logging.AddSimpleConsole(simple =>
            {
                simple.SingleLine = true;
                simple.TimestampFormat = "HH:mm:ss.fff ";
                simple.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }
    });
}
