using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Forkline.Gateway.Tests.Support;
using Forkline.Kernel.Tests;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>
/// `forkline run --json`, `events --json`, `replay --json` and `collector --json` print events and nothing
/// else on stdout, also when things go wrong: the disk (a tiny tmpfs) fills up under the node's data or the
/// collector's recording, API calls fail, a replay names no time or a gateway that is gone. What goes wrong
/// is said on stderr.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed partial class EventStreamPurityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly string _data = Directory.CreateTempSubdirectory("forkline-full-disk-").FullName;
    private readonly string _node = $"purity-{Guid.NewGuid():N}"[..20];
    private bool _mounted;

    public async Task InitializeAsync()
    {
        var mount = await ExternalCommand.RunAsync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", _data], Patience);
        Assert.True(mount.ExitCode == 0, $"a tmpfs for the data directory is needed (tests run as root): {mount}");
        _mounted = true;
    }

    public async Task DisposeAsync()
    {
        if (_mounted) await ExternalCommand.RunAsync("umount", ["-l", _data], Patience);
        Directory.Delete(_data, recursive: true);
    }

    [KernelFact]
    public async Task Json_stdout_carries_only_events_while_the_disk_is_full_and_api_calls_fail()
    {
        await using var run = OutputProcess.Start(GatewayProcess.Executable,
            ["run", "--json", "--data", Path.Combine(_data, "db"), "--node", _node, "--cluster-port", "0",
             "--api-http", "127.0.0.1:0", "--api-grpc", "127.0.0.1:0"]);
        var started = await run.WaitForErrorLineAsync(ApiAddresses(), Patience);
        var http = new Uri(started.Groups["http"].Value);
        var grpc = started.Groups["grpc"].Value;
        await using var events = OutputProcess.Start(GatewayProcess.Executable, ["events", "--json", "--gateway", grpc]);

        await RunProcessesUntilAsync(() => events.OutputLines.Count > 0 && run.OutputLines.Count > 0);
        FillUp(_data);
        await RunProcessesUntilAsync(() => run.ErrorText.Contains("full", StringComparison.OrdinalIgnoreCase));
        var replies = await FailingApiCallsAsync(http);
        string[] replay = ["replay", "--json", "--gateway", grpc, "--host", _node];
        await using var replayed = await CompletedAsync([.. replay, "--since", "1h ago"]);
        await using var noTime = await CompletedAsync([.. replay, "--since", "yesterday-ish"]);

        await events.InterruptAsync(Patience);
        await run.InterruptAsync(Patience);
        await using var gatewayGone = await CompletedAsync([.. replay, "--since", "1h ago"]);
        output.WriteLine($"--- run stderr ---\n{run.ErrorText}\n--- events stderr ---\n{events.ErrorText}\n--- API replies ---\n{string.Join('\n', replies)}");
        output.WriteLine($"--- replay stderr ---\n{replayed.ErrorText}\n{noTime.ErrorText}\n{gatewayGone.ErrorText}");

        AssertOnlyEvents("run --json", run.OutputLines);
        AssertOnlyEvents("events --json", events.OutputLines);
        Assert.Equal(0, replayed.ExitCode);
        AssertOnlyEvents("replay --json", replayed.OutputLines);
        AssertFailedInOneLine("replay --json --since yesterday-ish", noTime);
        AssertFailedInOneLine("replay --json from a gateway that is gone", gatewayGone);
        Assert.Matches(DiskFull(), run.ErrorText);
        foreach (var reply in replies) Assert.DoesNotContain("   at ", reply);
    }

    [KernelFact]
    public async Task Collector_json_stdout_carries_only_events_when_the_disk_under_its_recording_is_full()
    {
        await using var collector = OutputProcess.Start(GatewayProcess.Executable,
            ["collector", "--json", "--record", Path.Combine(_data, "capture")]);

        await RunProcessesUntilAsync(() => collector.OutputLines.Count > 0);
        FillUp(_data);
        await RunProcessesUntilAsync(() => collector.HasExited);
        var exitCode = await collector.WaitForExitAsync(Patience);
        output.WriteLine($"--- collector stderr ---\n{collector.ErrorText}");

        AssertOnlyEvents("collector --json", collector.OutputLines, IsKernelEvent);
        Assert.Equal(1, exitCode);
        Assert.Matches(DiskFull(), collector.ErrorText);
        Assert.DoesNotContain("   at ", collector.ErrorText);
    }

    /// <summary>A forkline command that ends on its own (a replay), run to its end.</summary>
    private static async Task<OutputProcess> CompletedAsync(IReadOnlyList<string> arguments)
    {
        var command = OutputProcess.Start(GatewayProcess.Executable, arguments);
        try
        {
            await command.WaitForExitAsync(Patience);
            return command;
        }
        catch (TimeoutException)
        {
            await command.DisposeAsync();
            throw;
        }
    }

    /// <summary>A command that could not do its work: nothing on stdout, why in one line on stderr, a non-zero exit code.</summary>
    private static void AssertFailedInOneLine(string command, OutputProcess failed)
    {
        Assert.True(failed.OutputLines.Count == 0, $"{command} printed on stdout: {string.Join('\n', failed.OutputLines)}");
        Assert.NotEqual(0, failed.ExitCode);
        Assert.Single(failed.ErrorText.Split('\n'), line => line.Length > 0);
    }

    /// <summary>A request each of a kind that fails: a write on the full disk, a hostile regex, bad input, bytes that are no HTTP.</summary>
    private async Task<List<string>> FailingApiCallsAsync(Uri http)
    {
        using var client = new HttpClient { BaseAddress = http, Timeout = TimeSpan.FromSeconds(60) };
        var replies = new List<string>();
        async Task Call(HttpMethod method, string path)
        {
            try
            {
                using var response = await client.SendAsync(new HttpRequestMessage(method, path));
                replies.Add($"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                replies.Add($"{method} {path}: {e.GetType().Name} {e.Message}");
            }
        }

        await Call(HttpMethod.Post, $"/api/v1/hosts/{_node}/snapshot");
        await Call(HttpMethod.Get, $"/api/v1/hosts/{_node}/processes?binary=(a%2B)%2B%24");
        await Call(HttpMethod.Get, "/api/v1/lineage/not-an-exec-id");
        await Call(HttpMethod.Get, $"/api/v1/hosts/{_node}/replay?since=yesterday-ish");
        using var socket = new TcpClient();
        await socket.ConnectAsync(http.Host, http.Port);
        await socket.GetStream().WriteAsync("\x01\x02 not http at all\r\n\r\n"u8.ToArray());
        var buffer = new byte[4096];
        var read = await socket.GetStream().ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        replies.Add($"raw bytes: {Encoding.UTF8.GetString(buffer, 0, read)}");
        return replies;
    }

    private async Task RunProcessesUntilAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > Patience) throw new TimeoutException($"no effect of the workload within {Patience.TotalSeconds} s");
            for (var i = 0; i < 20; i++)
            {
                using var process = Process.Start("/bin/true") ?? throw new InvalidOperationException("could not start /bin/true");
                await process.WaitForExitAsync();
            }
            await Task.Delay(200);
        }
    }

    /// <summary>Takes what is left of the file system, so every later write of the node fails with ENOSPC.</summary>
    private static void FillUp(string directory)
    {
        var chunk = new byte[64 * 1024];
        using var filler = new FileStream(Path.Combine(directory, "filler"), FileMode.Create, FileAccess.Write);
        try
        {
            while (true) filler.Write(chunk);
        }
        catch (IOException)
        {
            // ENOSPC: the file system is full, as intended.
        }
    }

    private static void AssertOnlyEvents(string command, IReadOnlyCollection<string> lines, Func<JsonElement, bool>? isEvent = null)
    {
        isEvent ??= IsExportEvent;
        Assert.True(lines.Count > 0, $"{command} printed no event");
        foreach (var line in lines) Assert.True(IsEvent(line, isEvent), $"{command} printed a line that is not an event: {line}");
    }

    /// <summary>One JSON object with its time that <paramref name="isEvent"/> takes for an event.</summary>
    private static bool IsEvent(string line, Func<JsonElement, bool> isEvent)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("time", out _) && isEvent(root);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// A Tetragon-shaped event: one event object, process_* or the rate_limit_info line that says how many
    /// events a live stream missed.
    /// </summary>
    private static bool IsExportEvent(JsonElement root)
    {
        var kinds = 0;
        foreach (var property in root.EnumerateObject())
            if ((property.Name.StartsWith("process_", StringComparison.Ordinal) || property.Name == "rate_limit_info")
                && property.Value.ValueKind == JsonValueKind.Object) kinds++;
        return kinds == 1;
    }

    /// <summary>A raw kernel event as `collector --json` prints it (JsonEventFormat): its kind, kernel time and pid.</summary>
    private static bool IsKernelEvent(JsonElement root) =>
        root.TryGetProperty("kind", out var kind) && kind.GetString() is "exec" or "clone" or "exit" or "hook" or "unknown"
        && root.TryGetProperty("ktime", out _) && root.TryGetProperty("pid", out _);

    [GeneratedRegex(@"API (?<http>http://[\d.:]+)/ \(HTTP/JSON, /metrics\) and (?<grpc>http://[\d.:]+)/ \(gRPC\)")]
    internal static partial Regex ApiAddresses();

    [GeneratedRegex("disk is full|no space left", RegexOptions.IgnoreCase)]
    private static partial Regex DiskFull();
}
