using System.Net;
using System.Text.Json;
using Forkline.Contracts.Api;
using Forkline.Contracts.History;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Accounting;
using Forkline.Gateway.Queries;
using static Forkline.Gateway.Tests.Api.SampleProcesses;

namespace Forkline.Gateway.Tests.Api;

/// <summary>
/// What a hostile process calls itself, through the HTTP and gRPC API: the same characters on both, JSON
/// without a raw control character that reads back to them, one line per event where the answer is lines.
/// </summary>
public sealed class HostileNamesApiTests : IAsyncLifetime
{
    private static readonly ExecId HostileId = new(Host, 9_000, 900);

    // As the decoder makes them: the byte 0xff that was not UTF-8 is the text \xff.
    private const string Binary = "/tmp/x\n15:00:00.000 exec pid=1 \u001b[2J\u001b]0;owned\u0007\\xff";
    private const string ArgumentLine = "\"\" \"a b\" \"x\\n15:00:00.000 exec pid=1 /bin/fake\" \"\\\\xff\" \"say \\\"hi\\\"\"";

    private static readonly ProcessSnapshot HostileSnapshot = Snapshot(HostileId, BashId, Binary) with
    {
        Arguments = [Binary, "", "a b", "x\n15:00:00.000 exec pid=1 /bin/fake", "\\xff", "say \"hi\""],
    };

    private ApiTestServer _api = null!;

    public async Task InitializeAsync()
    {
        var queries = NewQueries();
        queries.Processes.Add(ProcessRecords.From(HostileSnapshot, live: true));
        _api = await ApiTestServer.StartAsync(queries);
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task HTTP_answers_valid_JSON_that_reads_back_to_the_names_and_the_quoted_arguments()
    {
        using var response = await _api.Http.GetAsync($"/api/v1/processes/{Uri.EscapeDataString(HostileId.Encode())}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(body, character => char.IsControl(character) && character != '\n');
        var process = JsonDocument.Parse(body).RootElement.GetProperty("process");
        Assert.Equal(Binary, process.GetProperty("binary").GetString());
        Assert.Equal(ArgumentLine, process.GetProperty("arguments").GetString());
    }

    [Fact]
    public async Task GRPC_carries_the_same_strings()
    {
        var response = await _api.Grpc.GetProcessAsync(new GetProcessRequest { ExecId = HostileId.Encode() });

        Assert.Equal(Binary, response.Process.Binary);
        Assert.Equal(ArgumentLine, response.Process.Arguments);
    }

    [Fact]
    public async Task A_live_event_quotes_the_arguments_as_a_query_does()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = _api.Grpc.StreamEvents(new StreamEventsRequest(), cancellationToken: cancel.Token);
        await _api.Queries.StreamOpened.Task.WaitAsync(cancel.Token);
        _api.Queries.Publish(new EnrichedExec(Host, Boot, HostileId.StartKtime, HostileSnapshot, null, null));

        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        var live = call.ResponseStream.Current.Process;
        await cancel.CancelAsync();

        Assert.Equal(Binary, live.Binary);
        Assert.Equal(ArgumentLine, live.Arguments);
    }

    [Fact]
    public async Task HTTP_lineage_reads_back_to_the_names_and_the_quoted_arguments()
    {
        var lineage = JsonDocument.Parse(await GetJsonAsync($"/api/v1/lineage/{Uri.EscapeDataString(HostileId.Encode())}?depth=1")).RootElement;

        Assert.Equal(Binary, lineage.GetProperty("process").GetProperty("binary").GetString());
        Assert.Equal(ArgumentLine, lineage.GetProperty("process").GetProperty("arguments").GetString());
        Assert.Equal(["/bin/bash", "/sbin/init"], lineage.GetProperty("ancestors").EnumerateArray().Select(p => p.GetProperty("binary").GetString()));
    }

    [Fact]
    public async Task HTTP_replay_writes_one_JSON_line_per_hostile_event_that_reads_back_to_the_names()
    {
        var at = Boot.AddSeconds(10);
        var exited = HostileSnapshot with { Exit = new ProcessExit(0, 0, HostileId.StartKtime + 10, at, HostileId.Pid) };
        _api.Queries.History.AddRange([
            new EnrichedExec(Host, HostileSnapshot.StartTime, HostileId.StartKtime, HostileSnapshot, null, null),
            new EnrichedExit(Host, at, HostileId.StartKtime + 10, exited, null, null)]);

        var body = await GetJsonAsync($"/api/v1/hosts/{Host}/replay?since=2025-01-31T11:00:00Z");

        var lines = body.TrimEnd('\n').Split('\n');
        Assert.Equal(["process_exec", "process_exit"], lines.Select(line => JsonDocument.Parse(line).RootElement.EnumerateObject().First().Name));
        Assert.All(lines, line =>
        {
            var process = JsonDocument.Parse(line).RootElement.EnumerateObject().First().Value.GetProperty("process");
            Assert.Equal(Binary, process.GetProperty("binary").GetString());
            Assert.Equal(ArgumentLine, process.GetProperty("arguments").GetString());
        });
    }

    [Fact]
    public async Task HTTP_and_gRPC_stats_of_a_hostile_host_and_run_read_back_to_them()
    {
        const string host = "node-x\n15:00:00.000 exec pid=1 \u001b]0;owned\u0007\u009b31m\\xff";
        _api.Queries.RunStats[host] = [new HostRunStats(host, Report: null, new GatewayCounts(1, 0, 0, 0), Balance: null, new RunCrash(host, Boot))];
        _api.Queries.Gaps.Add(new HostGap(host, Boot, Boot.AddMinutes(1), HostGapReason.CollectorCrashed, host, host, 0));

        var stats = JsonDocument.Parse(await GetJsonAsync($"/api/v1/hosts/{Uri.EscapeDataString(host)}/stats")).RootElement;
        var grpc = await _api.Grpc.GetHostStatsAsync(new GetHostStatsRequest { Host = host });

        var run = stats.GetProperty("runs")[0];
        var gap = stats.GetProperty("gaps")[0];
        Assert.Equal([host, host, host, host, host],
            new[] { stats.GetProperty("host"), run.GetProperty("run_id"), run.GetProperty("crash_found_by"), gap.GetProperty("run_id"), gap.GetProperty("next_run_id") }
                .Select(value => value.GetString()));
        Assert.Equal((host, host, host), (grpc.Host, grpc.Runs[0].RunId, grpc.Gaps[0].NextRunId));
    }

    /// <summary>A 200 answer's body, checked to hold no control character but the line ends of JSON lines.</summary>
    private async Task<string> GetJsonAsync(string path)
    {
        using var response = await _api.Http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        Assert.DoesNotContain(body, character => char.IsControl(character) && character != '\n');
        return body;
    }
}
