using System.CommandLine;
using Forkline.Collector.Bpf;
using Forkline.Collector.Hooks;
using Forkline.Collector.Native;
using Forkline.Collector.Sources;
using Forkline.Contracts.Events;
using Forkline.Logging;
using Forkline.Output;
using Microsoft.Extensions.Logging;

namespace Forkline.Commands;

/// <summary>`forkline collector`: this host's raw kernel events, live, until Ctrl-C / SIGTERM.</summary>
public static class CollectorCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "JSON lines instead of the compact one-line view" };
        var hooks = new Option<string?>("--hooks")
        {
            Description = "Hook policy file (default: hooks.json beside the binary if present, else only the credential family)",
        };
        var record = new Option<string?>("--record") { Description = "Also record every raw record to this capture file (replayable)" };
        var bpfObject = new Option<string?>("--bpf-object") { Description = $"BPF object (default: {CollectorPreflight.DefaultObjectPath})" };
        var ringSize = new Option<uint>("--ring-size")
        {
            Description = "Ring-buffer bytes: a power of two, at least a page",
            DefaultValueFactory = _ => BpfCollectorOptions.DefaultRingSizeBytes,
        };

        var command = new Command("collector", "Print this host's process events from the kernel (exec, exit, clone, hooks)")
        {
            json, hooks, record, bpfObject, ringSize, NodeLogging.FormatOption,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var loggers = NodeLogging.Create(parse);
            return await RunAsync(
                parse.GetValue(json), parse.GetValue(hooks), parse.GetValue(record), parse.GetValue(bpfObject), parse.GetValue(ringSize),
                loggers, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(
        bool json, string? hooksPath, string? recordPath, string? objectPath, uint ringSize, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var log = loggers.CreateLogger("forkline.collector");
        LibBpfLog.Logger = loggers.CreateLogger(typeof(LibBpfLog));
        var clock = BootClock.Measure();
        HookPolicy policy;
        try
        {
            policy = LoadPolicy(hooksPath);
        }
        catch (HookPolicyException e)
        {
            log.LogError("{Problem}", e.Message);
            return 2;
        }

        CaptureWriter? capture;
        try
        {
            capture = recordPath is null
                ? null
                : CaptureWriter.Create(recordPath, new CaptureHeader(Environment.MachineName, clock.WallMinusBootNs, policy.Descriptors));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogError("cannot create capture file {Path}: {Problem} — pass a writable path to --record", recordPath, e.Message);
            return 2;
        }
        using var recording = capture;
        var printer = new BoundedEventPrinter(CreateFormat(json, clock));
        var source = new BpfEventSource(new BpfCollectorOptions
        {
            ObjectPath = objectPath ?? CollectorPreflight.DefaultObjectPath,
            Hooks = policy,
            RingSizeBytes = ringSize,
            Capture = capture,
            LoggerFactory = loggers,
        });

        var exitCode = 0;
        try
        {
            await source.RunAsync(printer, cancellationToken);
            capture?.Flush();
        }
        catch (BpfException e)
        {
            log.LogError("{Problem}", e.Message);
            exitCode = 1;
        }
        catch (IOException e) when (capture is not null && capture.Failure == e)
        {
            // A recording that cannot go on stops the run: printing on would let the user believe the file replays it.
            log.LogError("recording to {Path} failed, so the collector stopped: {Problem}; the capture holds at most {Records} records", recordPath, e.Message, capture.RecordsWritten);
            exitCode = 1;
        }
        printer.Complete();
        await printer.Printing;
        if (source.Collector is { } collector) log.LogInformation("{Summary}", CollectorSummary.Describe(collector, printer.Dropped, capture));
        return exitCode;
    }

    private static IRawEventFormat CreateFormat(bool json, BootClock clock)
    {
        var stdout = new BufferedStream(Console.OpenStandardOutput(), 1 << 16);
        return json ? new JsonEventFormat(clock, stdout) : new CompactEventFormat(clock, new StreamWriter(stdout));
    }

    internal static HookPolicy LoadPolicy(string? path)
    {
        if (path is not null) return HookPolicy.Load(path);
        var besideBinary = Path.Combine(AppContext.BaseDirectory, "hooks.json");
        return File.Exists(besideBinary) ? HookPolicy.Load(besideBinary) : HookPolicy.CredentialsOnly;
    }
}
