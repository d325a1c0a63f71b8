using System.Net;
using Forkline.Contracts.Api;
using Forkline.Contracts.History;
using Forkline.Gateway.Api;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using static Forkline.Gateway.Tests.Api.SampleProcesses;

namespace Forkline.Gateway.Tests.Api;

/// <summary>
/// The HTTP routes come from the google.api.http rules of forkline_api.proto and run the gRPC methods: each call
/// answers over HTTP what it answers over gRPC, a unary reply as its JSON, a stream as the json lines of its events.
/// </summary>
public sealed class HttpRoutesFromProtoTests : IAsyncLifetime
{
    private ApiTestServer _api = null!;

    public async Task InitializeAsync() => _api = await ApiTestServer.StartAsync(NewQueries());

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Each_unary_call_answers_over_http_the_json_of_its_grpc_reply()
    {
        _api.Queries.Gaps.Add(new HostGap(Host, Boot.AddSeconds(1), Boot.AddSeconds(9), HostGapReason.CollectorStopped, "run-1", "run-2", 0));
        var grpc = _api.Grpc;

        await AssertSameAsync(HttpMethod.Get, $"/api/v1/processes/{Uri.EscapeDataString(SleepId.Encode())}",
            await grpc.GetProcessAsync(new GetProcessRequest { ExecId = SleepId.Encode() }));
        await AssertSameAsync(HttpMethod.Get, $"/api/v1/lineage/{Uri.EscapeDataString(BashId.Encode())}?depth=1",
            await grpc.GetLineageAsync(new GetLineageRequest { ExecId = BashId.Encode(), DescendantDepth = 1 }));
        await AssertSameAsync(HttpMethod.Get, $"/api/v1/hosts/{Host}/processes?live=true&limit=1",
            await grpc.ListProcessesAsync(new ListProcessesRequest { Host = Host, Live = true, Limit = 1 }));
        await AssertSameAsync(HttpMethod.Get, $"/api/v1/hosts/{Host}/stats",
            await grpc.GetHostStatsAsync(new GetHostStatsRequest { Host = Host }));
        await AssertSameAsync(HttpMethod.Post, $"/api/v1/hosts/{Host}/snapshot",
            await grpc.SnapshotHostAsync(new SnapshotHostRequest { Host = Host }));
    }

    [Fact]
    public async Task A_replay_with_gaps_streams_over_http_the_json_lines_of_the_grpc_events()
    {
        _api.Queries.History.AddRange([Exec(BashId, InitId, "/bin/bash"), Exec(SleepId, BashId, "/bin/sleep"), Exit(SleepId, BashId, "/bin/sleep", 0)]);
        _api.Queries.Gaps.Add(new HostGap(Host, Boot.AddSeconds(1), Boot.AddSeconds(9), HostGapReason.CollectorCrashed, "run-1", "run-2", 0));
        var request = new ReplayRequest { Host = Host, Since = Timestamp.FromDateTime(Boot.AddMinutes(-5)), Until = Timestamp.FromDateTime(Boot.AddMinutes(5)), Gaps = true };
        using var call = _api.Grpc.Replay(request);
        var overGrpc = new List<string>();
        await foreach (var replayed in call.ResponseStream.ReadAllAsync()) overGrpc.Add(replayed.Json);

        using var response = await _api.Http.GetAsync($"/api/v1/hosts/{Host}/replay?since=2025-01-31T11:55:00Z&until=2025-01-31T12:05:00Z&gaps=true");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(4, overGrpc.Count);
        Assert.Equal(overGrpc, (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private async Task AssertSameAsync(HttpMethod method, string path, IMessage overGrpc)
    {
        using var request = new HttpRequestMessage(method, path);
        using var response = await _api.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ApiJson.Formatter.Format(overGrpc), await response.Content.ReadAsStringAsync());
    }
}
