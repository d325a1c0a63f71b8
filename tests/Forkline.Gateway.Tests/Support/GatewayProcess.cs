using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using Forkline.Gateway.Storage;
using Forkline.Hosting;

namespace Forkline.Gateway.Tests.Support;

/// <summary>
/// A `forkline gateway` in a process of its own, so that a test or a benchmark can kill it the hard
/// way (SIGKILL) and start it again on the same port. Its output goes to a log file, printed on failure.
/// The assembly this file is compiled into names the executable in its <c>ForklineExecutable</c>
/// metadata (see Forkline.Cluster.Tests.csproj and Forkline.Benchmarks.csproj).
/// </summary>
public sealed partial class GatewayProcess : IAsyncDisposable
{
    private readonly IReadOnlyList<string> _arguments;
    private Process? _process;

    private GatewayProcess(string name, int port, int ingestPort, int apiGrpcPort, int apiHttpPort, IReadOnlyList<string> arguments, string logPath)
    {
        Name = name;
        Port = port;
        IngestPort = ingestPort;
        ApiGrpcPort = apiGrpcPort;
        ApiHttpPort = apiHttpPort;
        _arguments = arguments;
        LogPath = logPath;
    }

    public string Name { get; }
    public int Port { get; }
    public string LogPath { get; }
    public string Address => GatewaySettings.SeedAddress("127.0.0.1", Port);
    public int IngestPort { get; }

    public int ApiGrpcPort { get; }

    public int ApiHttpPort { get; }

    /// <summary>The gRPC API, plain HTTP/2 on loopback.</summary>
    public Uri ApiGrpcAddress => new($"http://127.0.0.1:{ApiGrpcPort}");

    /// <summary>The running process's id; null while it does not run.</summary>
    public int? Pid => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>Where collectors stream to this gateway (the same port after a restart).</summary>
    public Uri IngestAddress => new($"http://127.0.0.1:{IngestPort}");

    public const string ExecutableMetadataKey = "ForklineExecutable";

    /// <summary>The forkline executable this build was made with.</summary>
    public static string Executable =>
        typeof(GatewayProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == ExecutableMetadataKey)?.Value
        ?? throw new InvalidOperationException(
            $"{typeof(GatewayProcess).Assembly.GetName().Name} has no '{ExecutableMetadataKey}' assembly metadata: its project must reference src/Forkline and name the built executable, as Forkline.Cluster.Tests.csproj does");

    /// <param name="ingestPort">The port collectors stream to; fixed, so that they find the gateway again after a restart.</param>
    /// <param name="downRemovalMargin">Null: the gateway's default.</param>
    public static GatewayProcess Start(string name, int port, int ingestPort, IReadOnlyList<string> seeds, DatabaseSettings database, TimeSpan downUnreachableAfter, string logFolder,
        TimeSpan? downRemovalMargin = null)
    {
        var apiGrpcPort = TestNodes.FreePort();
        var apiHttpPort = TestNodes.FreePort();
        List<string> arguments =
        [
            "gateway", "--hostname", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--db-provider", database.Provider.ToString(), "--connection-string", database.ConnectionString,
            "--api-http", "127.0.0.1:" + apiHttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--api-grpc", "127.0.0.1:" + apiGrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--ingest", "127.0.0.1:" + ingestPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--down-unreachable-after", downUnreachableAfter.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            "--data", Path.Combine(logFolder, name),
        ];
        foreach (var seed in seeds) arguments.AddRange(["--seed", seed]);
        if (downRemovalMargin is { } margin) arguments.AddRange(["--down-removal-margin", margin.ToString("c", System.Globalization.CultureInfo.InvariantCulture)]);
        var gateway = new GatewayProcess(name, port, ingestPort, apiGrpcPort, apiHttpPort, arguments, Path.Combine(logFolder, name + ".log"));
        gateway.Start();
        return gateway;
    }

    public void Start()
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException($"{Name} already runs (pid {_process.Id})");
        var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in _arguments) start.ArgumentList.Add(argument);
        _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Executable}");
        var log = new StreamWriter(LogPath, append: true) { AutoFlush = true };
        _process.OutputDataReceived += (_, line) => Write(log, line.Data);
        _process.ErrorDataReceived += (_, line) => Write(log, line.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>SIGKILL: no leaving the cluster, no flushing; the others find out by failure detection.</summary>
    public void KillHard()
    {
        _process?.Kill(entireProcessTree: false);
        _process?.WaitForExit();
    }

    /// <summary>A gateway takes a collector's stream only once it is an Up member: a probe collector's first stream says so.</summary>
    public async Task WaitUntilTakesStreamsAsync(TimeSpan patience)
    {
        await using var probe = await CollectorNode.StartAsync(TestNodes.Collector([IngestAddress]));
        await TestNodes.EventuallyAsync(() => Task.FromResult(probe.MetricsExport.Value("forkline_forward_link_changes_total", "connected") >= 1),
            $"{Name} is Up and takes streams", patience);
    }

    /// <summary>
    /// SIGSTOP: the process freezes with its sockets open, so to the others its heartbeats stop as in a
    /// partition, while the kernel keeps its connections (and so any session lock it holds) alive.
    /// </summary>
    public void Freeze() => Signal(SigStop);

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw() => Signal(SigCont);

    /// <summary>Completes with the exit code once the process ended on its own; null when it still runs after <paramref name="patience"/>.</summary>
    public async Task<int?> ExitCodeWithinAsync(TimeSpan patience)
    {
        var process = _process ?? throw new InvalidOperationException($"{Name} was never started");
        using var deadline = new CancellationTokenSource(patience);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
            return process.ExitCode;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return null;
        }
    }

    private const int SigCont = 18;
    private const int SigStop = 19;

    private void Signal(int signal)
    {
        var pid = Pid ?? throw new InvalidOperationException($"{Name} does not run");
        if (Kill(pid, signal) != 0) throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Gateways this one sees as Up members (its <c>/metrics</c>); 0 while it does not answer.</summary>
    public async Task<int> GatewaysUpAsync() => (int)await MetricAsync("forkline_cluster_members{role=\"gateway\",status=\"up\"}");

    /// <summary>
    /// Gateways this one sees Up, with none Down: a downed member stays until the failure detector marks it unreachable
    /// and the leader removes it, and meanwhile the cluster's view of who is left is not settled.
    /// </summary>
    public async Task<int> GatewaysUpNoneDownAsync() =>
        await MetricAsync("forkline_cluster_members{role=\"gateway\",status=\"down\"}") == 0 ? await GatewaysUpAsync() : 0;

    /// <summary>The value of one series on the gateway's <c>/metrics</c> (name and labels as printed); 0 while it does not answer.</summary>
    public async Task<double> MetricAsync(string series)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string metrics;
        try
        {
            metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{ApiHttpPort}/metrics"));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException { InnerException: TimeoutException })
        {
            // Not listening yet, or too busy to answer within the timeout: the caller asks again.
            return 0;
        }
        foreach (var line in metrics.Split('\n'))
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line.AsSpan(series.Length + 1), System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }

    /// <param name="shown">Which lines count (all when null): a thousand streams' identical errors can hide the one line that matters.</param>
    public string LogTail(int lines = 30, Func<string, bool>? shown = null) =>
        File.Exists(LogPath) ? string.Join('\n', File.ReadLines(LogPath).Where(shown ?? (_ => true)).TakeLast(lines)) : "(no log)";

    public ValueTask DisposeAsync()
    {
        // A frozen process takes SIGKILL too.
        if (_process is { HasExited: false }) KillHard();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null) return;
        lock (log) log.WriteLine(line);
    }
}
