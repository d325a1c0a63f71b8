using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Forkline.Collector.Bpf;
using Forkline.Collector.Tests;
using Forkline.Gateway.Storage;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;

namespace Forkline.Cluster.Tests;

/// <summary>
/// A test that brings up <c>deploy/local/fleet</c>: it needs root and BPF for collector-1 (and for
/// the recording that collector-2 replays) and PostgreSQL server binaries. Skipped, with the reason,
/// where either is missing; CI, as root, has both.
/// </summary>
public sealed class LocalFleetFactAttribute : FactAttribute
{
    public LocalFleetFactAttribute()
    {
        if (CollectorPreflight.FindProblem(CollectorPreflight.DefaultObjectPath) is { } bpf) Skip = "needs BPF: " + bpf;
        else if (LocalPostgres.Unavailable is { } postgres) Skip = "needs PostgreSQL: " + postgres;
    }
}

/// <summary>
/// The real <c>deploy/local/fleet</c> launcher, run as a user runs it: in a folder and on a block of
/// loopback ports of its own (so it never meets a fleet someone else runs on this machine), with the
/// forkline this test build was made with. Where the API, the database and the collectors' metrics
/// are is read from what <c>up</c> prints. Disposing runs <c>down --purge</c>.
/// </summary>
public sealed class LocalFleet : IAsyncDisposable
{
    public const string Gateway1 = "gateway-1";
    public const string Gateway2 = "gateway-2";
    public const string Collector1 = "collector-1";
    public const string Collector2 = "collector-2";

    /// <summary>The launcher uses ports base+1 .. base+42 (cluster, API, ingest, PostgreSQL at base+30, metrics).</summary>
    private const int PortsUsed = 42;

    private static readonly TimeSpan UpTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan NodeCommandTimeout = TimeSpan.FromSeconds(90);
    private readonly Action<string> _log;
    private readonly int _captureSeconds;

    private LocalFleet(string directory, int portBase, int captureSeconds, Action<string> log)
    {
        Directory = directory;
        PortBase = portBase;
        _captureSeconds = captureSeconds;
        _log = log;
    }

    public static string Script => Path.Combine(RepositoryFiles.Root, "deploy/local/fleet");

    /// <summary>FLEET_DIR: config, certificates, capture, logs and PostgreSQL data.</summary>
    public string Directory { get; }

    public int PortBase { get; }

    /// <summary>The API block <c>up</c> printed; set once <see cref="UpAsync"/> succeeded.</summary>
    public FleetApi Api { get; private set; } = null!;

    public string CapturePath => Path.Combine(Directory, "capture", "capture.fkl");

    /// <summary>
    /// Runs <c>up</c>; when it fails the fleet is torn down again and the exception carries the
    /// launcher's output and the nodes' logs.
    /// </summary>
    public static async Task<LocalFleet> UpAsync(int captureSeconds, Action<string> log)
    {
        var fleet = new LocalFleet(Path.Combine(Path.GetTempPath(), "forkline-fleet-" + Guid.NewGuid().ToString("N")[..12]),
            FreePortBase(), captureSeconds, log);
        try
        {
            var up = await fleet.RunAsync(UpTimeout, "up");
            fleet.Api = FleetApi.Parse(up.Output);
            return fleet;
        }
        catch (Exception e)
        {
            var logs = fleet.LogTails();
            await fleet.DisposeAsync();
            throw new InvalidOperationException($"deploy/local/fleet up failed: {e.Message}\n{logs}", e);
        }
    }

    /// <summary><c>kill NODE</c>: SIGKILL, no leaving the cluster.</summary>
    public Task KillAsync(string node) => RunAsync(NodeCommandTimeout, "kill", node);

    /// <summary><c>start NODE</c>: for a gateway it returns once the node is Up in the cluster.</summary>
    public Task StartAsync(string node) => RunAsync(NodeCommandTimeout, "start", node);

    /// <summary>`deploy/local/fleet stop NODE`: SIGTERM, returns once the node has exited.</summary>
    public Task StopAsync(string node) => RunAsync(NodeCommandTimeout, "stop", node);

    /// <summary>The fleet's PostgreSQL database, as the gateways use it.</summary>
    public DatabaseSettings Database => new(DatabaseProvider.PostgreSql, Api.DatabaseConnectionString);

    /// <summary>The node's log so far ("" before it started).</summary>
    public string LogOf(string node)
    {
        var path = Path.Combine(Directory, "logs", node + ".log");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>The end of every log of the fleet (nodes, capture, PostgreSQL), for a failing test's output.</summary>
    public string LogTails(int lines = 60)
    {
        var text = new StringBuilder();
        var logs = new[] { Path.Combine(Directory, "logs"), Path.Combine(Directory, "postgres") }
            .Where(System.IO.Directory.Exists)
            .SelectMany(folder => System.IO.Directory.GetFiles(folder, "*.log"))
            .Order(StringComparer.Ordinal);
        foreach (var log in logs)
            text.Append(CultureInfo.InvariantCulture, $"--- {log} ---\n{string.Join('\n', File.ReadLines(log).TakeLast(lines))}\n");
        return text.Length > 0 ? text.ToString() : $"(no logs under {Directory})";
    }

    public async ValueTask DisposeAsync()
    {
        // Not RunAsync: a failing down must still say what it printed, and must not hide the test's own failure.
        var down = await ExternalCommand.RunAsync(Script, ["down", "--purge"], UpTimeout, Environment());
        _log(down.ExitCode == 0 ? $"fleet down --purge: {down.Output.Trim()}" : $"fleet down --purge FAILED: {down}");
    }

    private async Task<CommandResult> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        var result = await ExternalCommand.RunAsync(Script, arguments, timeout, Environment());
        _log(result.Output.TrimEnd());
        if (result.ExitCode != 0) throw new InvalidOperationException(result.ToString());
        return result;
    }

    private Dictionary<string, string> Environment() => new()
    {
        ["FLEET_DIR"] = Directory,
        ["FLEET_PORT_BASE"] = PortBase.ToString(CultureInfo.InvariantCulture),
        ["FLEET_CAPTURE_SECONDS"] = _captureSeconds.ToString(CultureInfo.InvariantCulture),
        ["FORKLINE_BIN"] = GatewayProcess.Executable,
    };

    /// <summary>A base whose whole block of ports (base + 1 up) is free now.</summary>
    private static int FreePortBase() => TestNodes.FreePorts(PortsUsed) - 1;
}

/// <summary>Where the fleet's API, database and metrics are, as <c>up</c> prints them for a user.</summary>
/// <param name="Grpc">gRPC address of each gateway.</param>
/// <param name="Http">HTTP/JSON address of each gateway (also /metrics).</param>
/// <param name="ClientEnvironment">The variables of the printed <c>export</c> line: FORKLINE_GATEWAY, FORKLINE_CA, FORKLINE_TOKEN (read-only).</param>
public sealed partial record FleetApi(
    IReadOnlyDictionary<string, string> Grpc,
    IReadOnlyDictionary<string, string> Http,
    string KernelHost,
    string ReplayHost,
    IReadOnlyDictionary<string, string> ClientEnvironment,
    IReadOnlyDictionary<string, string> CollectorMetrics,
    string DatabaseConnectionString)
{
    public static FleetApi Parse(string upOutput)
    {
        var gateways = GatewayLine().Matches(upOutput);
        var grpc = gateways.ToDictionary(m => m.Groups["node"].Value, m => m.Groups["grpc"].Value);
        var http = gateways.ToDictionary(m => m.Groups["node"].Value, m => m.Groups["http"].Value);
        var hosts = HostsLine().Match(upOutput);
        var export = ExportLine().Match(upOutput);
        var metrics = MetricsLine().Match(upOutput);
        var database = DatabaseLine().Match(upOutput);
        if (grpc.Count != 2 || !hosts.Success || !export.Success || !metrics.Success || !database.Success)
            throw new FormatException($"deploy/local/fleet up did not print the API block this test reads (gateways, hosts, export, metrics, database):\n{upOutput}");
        return new FleetApi(
            grpc,
            http,
            hosts.Groups["kernel"].Value,
            hosts.Groups["replay"].Value,
            Pairs(export.Groups["pairs"].Value, '='),
            MetricsPair().Matches(metrics.Value).ToDictionary(m => m.Groups["node"].Value, m => m.Groups["url"].Value),
            database.Groups["connection"].Value);
    }

    private static Dictionary<string, string> Pairs(string text, char separator) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(pair => pair.Split(separator, 2)).ToDictionary(kv => kv[0], kv => kv[1]);

    [GeneratedRegex(@"^\s*(?<node>gateway-\d)\s+HTTP/JSON\s+(?<http>\S+)\s+gRPC\s+(?<grpc>\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex GatewayLine();

    [GeneratedRegex(@"^\s*hosts: (?<kernel>\S+) \(collector-1, BPF\), (?<replay>\S+) \(collector-2, replay\)\s*$", RegexOptions.Multiline)]
    private static partial Regex HostsLine();

    [GeneratedRegex(@"^\s*export (?<pairs>.+?)\s*$", RegexOptions.Multiline)]
    private static partial Regex ExportLine();

    [GeneratedRegex(@"^\s*collector metrics: .+$", RegexOptions.Multiline)]
    private static partial Regex MetricsLine();

    [GeneratedRegex(@"(?<node>collector-\d) (?<url>http://\S+)")]
    private static partial Regex MetricsPair();

    [GeneratedRegex(@"^\s*database: (?<connection>\S+)", RegexOptions.Multiline)]
    private static partial Regex DatabaseLine();
}
