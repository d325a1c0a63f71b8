using System.Net;
using System.Text.Json;
using Forkline.Contracts.Api;
using Forkline.Gateway.Api;
using Google.Protobuf.WellKnownTypes;
using Forkline.Testing;
using Grpc.Core;
using static Forkline.Gateway.Tests.Api.SampleProcesses;

namespace Forkline.Gateway.Tests.Api;

/// <summary>Unknown ids, malformed requests and impossible windows get a clear error status, never a 500.</summary>
public sealed class ApiBadInputTests : IAsyncLifetime
{
    private static readonly string UnknownId = new Forkline.Contracts.Identity.ExecId(Host, 99_999, 4242).Encode();

    private readonly CapturingLogger _log = new();
    private ApiTestServer _api = null!;

    public async Task InitializeAsync() => _api = await ApiTestServer.StartAsync(NewQueries(), new ApiSettings { LoggerFactory = _log });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public static TheoryData<string, HttpStatusCode, string> HttpCases => new()
    {
        { $"/api/v1/processes/{UnknownId}", HttpStatusCode.NotFound, $"no process with exec_id '{UnknownId}'" },
        { $"/api/v1/lineage/{UnknownId}", HttpStatusCode.NotFound, UnknownId },
        { "/api/v1/processes/not-an-exec-id!", HttpStatusCode.BadRequest, "exec_id 'not-an-exec-id!' is malformed" },
        { "/api/v1/processes/aGVsbG8=", HttpStatusCode.BadRequest, "exec_id 'aGVsbG8=' is malformed" },
        { "/api/v1/lineage/", HttpStatusCode.BadRequest, "exec_id is required" },
        { $"/api/v1/lineage/{UnknownId}?depth=-1", HttpStatusCode.BadRequest, "depth -1 is negative" },
        { $"/api/v1/lineage/{UnknownId}?depth=deep", HttpStatusCode.BadRequest, "depth 'deep' is not an integer" },
        { $"/api/v1/lineage/{UnknownId}?depth=1000", HttpStatusCode.BadRequest, "depth 1000 is larger than the maximum" },
        { "/api/v1/hosts/node-a/processes?binary=(unclosed", HttpStatusCode.BadRequest, "binary regex '(unclosed' is not usable" },
        { "/api/v1/hosts/node-a/processes?binary=(a)%5C1", HttpStatusCode.BadRequest, "binary regex '(a)\\1' is not usable" },
        { "/api/v1/events?binary=(%3F%3Dx)y", HttpStatusCode.BadRequest, "binary regex '(?=x)y' is not usable" },
        { "/api/v1/hosts/node-a/processes?since=2025-02-01T00:00:00Z&until=2025-01-01T00:00:00Z", HttpStatusCode.BadRequest, "impossible time window: since 2025-02-01T00:00:00.0000000Z is after until" },
        { "/api/v1/hosts/node-a/processes?since=last-tuesday", HttpStatusCode.BadRequest, "since 'last-tuesday' is not a time: use RFC3339" },
        { "/api/v1/hosts/node-a/processes?live=maybe", HttpStatusCode.BadRequest, "live 'maybe' is not a boolean" },
        { "/api/v1/hosts/node-a/processes?pid=-3", HttpStatusCode.BadRequest, "pid -3 is negative" },
        { "/api/v1/hosts/node-a/processes?limit=0x10", HttpStatusCode.BadRequest, "limit '0x10' is not an integer" },
        { "/api/v1/hosts/node-a/processes?limit=-1", HttpStatusCode.BadRequest, "limit -1 is out of range" },
        { "/api/v1/hosts/node-a/replay", HttpStatusCode.BadRequest, "since is required" },
        { "/api/v1/hosts/node-a/replay?since=-1h&until=-2h", HttpStatusCode.BadRequest, "impossible time window" },
        { "/api/v1/hosts/node-a/replay?since=soon", HttpStatusCode.BadRequest, "since 'soon' is not a time" },
        { "/api/v1/events?type=exec,fork", HttpStatusCode.BadRequest, "type 'fork' is not an event type" },
        { "/api/v1/events?exec_id=zzz", HttpStatusCode.BadRequest, "exec_id 'zzz' is malformed" },
        { "/api/v1/events?binary=[a-", HttpStatusCode.BadRequest, "binary regex '[a-' is not usable" },
        { "/api/v1/events?pid=12abc", HttpStatusCode.BadRequest, "pid '12abc' is not an integer" },
    };

    [Theory]
    [MemberData(nameof(HttpCases))]
    public async Task Http_bad_request_gets_its_status_and_a_message_naming_the_value(string path, HttpStatusCode status, string message)
    {
        var counted = await _api.ErrorCountAsync(status == HttpStatusCode.NotFound ? "not_found" : "invalid_argument", "http");

        using var response = await _api.Http.GetAsync(path);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(status == HttpStatusCode.NotFound ? "not_found" : "invalid_argument", error.GetProperty("code").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.DoesNotContain("   at ", body);
        Assert.True(await _api.ErrorCountAsync(status == HttpStatusCode.NotFound ? "not_found" : "invalid_argument", "http") > counted);
    }

    public static TheoryData<string, StatusCode, string> GrpcCases => new()
    {
        { "GetProcess unknown", StatusCode.NotFound, $"no process with exec_id '{UnknownId}'" },
        { "GetProcess malformed", StatusCode.InvalidArgument, "exec_id 'bm90IGFuIGlk' is malformed" },
        { "GetProcess empty", StatusCode.InvalidArgument, "exec_id is required" },
        { "GetLineage unknown", StatusCode.NotFound, UnknownId },
        { "GetLineage negative depth", StatusCode.InvalidArgument, "depth -2 is negative" },
        { "ListProcesses no host", StatusCode.InvalidArgument, "host is required" },
        { "ListProcesses bad regex", StatusCode.InvalidArgument, "binary regex '*sleep' is not usable" },
        { "ListProcesses impossible window", StatusCode.InvalidArgument, "impossible time window: since 2025-01-31T13:00:00.0000000Z is after until 2025-01-31T12:00:00.0000000Z" },
        { "ListProcesses bad timestamp", StatusCode.InvalidArgument, "since {seconds: 0, nanos: -5} is not a valid timestamp" },
        { "ListProcesses huge limit", StatusCode.InvalidArgument, "limit 10001 is out of range" },
        { "Replay no since", StatusCode.InvalidArgument, "since is required" },
        { "Replay impossible window", StatusCode.InvalidArgument, "impossible time window" },
        { "Replay no host", StatusCode.InvalidArgument, "host is required" },
        { "StreamEvents unspecified kind", StatusCode.InvalidArgument, "event kind Unspecified is not one of exec, exit, clone, hook" },
        { "StreamEvents malformed exec_id", StatusCode.InvalidArgument, "exec_id '%%%' is malformed" },
        { "StreamEvents bad regex", StatusCode.InvalidArgument, "binary regex '(?<' is not usable" },
    };

    [Theory]
    [MemberData(nameof(GrpcCases))]
    public async Task Grpc_bad_request_gets_its_status_and_a_message_naming_the_value(string call, StatusCode status, string message)
    {
        var label = status == StatusCode.NotFound ? "not_found" : "invalid_argument";
        var counted = await _api.ErrorCountAsync(label, "grpc");

        var error = await Assert.ThrowsAsync<RpcException>(() => Invoke(call));

        Assert.Equal(status, error.StatusCode);
        Assert.Contains(message, error.Status.Detail);
        Assert.True(await _api.ErrorCountAsync(label, "grpc") > counted);
    }

    [Fact]
    public async Task An_unexpected_fault_is_a_generic_500_without_details_and_is_counted_and_logged()
    {
        _api.Queries.Fault = new InvalidOperationException("secret internals: connection string Password=hunter2");
        var counted = await _api.ErrorCountAsync("internal", "http");

        using var response = await _api.Http.GetAsync($"/api/v1/processes/{BashId.Encode()}");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal("internal", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("the gateway log has the details", body);
        Assert.DoesNotContain("hunter2", body);
        Assert.DoesNotContain("   at ", body);
        Assert.True(await _api.ErrorCountAsync("internal", "http") > counted);
        Assert.Contains(_log, line => line.Contains($"HTTP GET /api/v1/processes/{BashId.Encode()} failed unexpectedly", StringComparison.Ordinal)
                                      && line.Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unexpected_fault_is_grpc_internal_without_details_and_is_counted_and_logged()
    {
        _api.Queries.Fault = new InvalidOperationException("secret internals: connection string Password=hunter2");
        var counted = await _api.ErrorCountAsync("internal", "grpc");

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await _api.Grpc.GetLineageAsync(new GetLineageRequest { ExecId = BashId.Encode() }));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Contains("the gateway log has the details", error.Status.Detail);
        Assert.DoesNotContain("hunter2", error.Status.Detail);
        Assert.True(await _api.ErrorCountAsync("internal", "grpc") > counted);
        Assert.Contains(_log, line => line.Contains("GetLineage failed unexpectedly", StringComparison.Ordinal) && line.Contains("hunter2", StringComparison.Ordinal));
    }

    private async Task Invoke(string call)
    {
        var grpc = _api.Grpc;
        var noon = Timestamp.FromDateTime(Boot);
        var onePm = Timestamp.FromDateTime(Boot.AddHours(1));
        switch (call)
        {
            case "GetProcess unknown": await grpc.GetProcessAsync(new GetProcessRequest { ExecId = UnknownId }); break;
            case "GetProcess malformed": await grpc.GetProcessAsync(new GetProcessRequest { ExecId = "bm90IGFuIGlk" }); break;
            case "GetProcess empty": await grpc.GetProcessAsync(new GetProcessRequest()); break;
            case "GetLineage unknown": await grpc.GetLineageAsync(new GetLineageRequest { ExecId = UnknownId }); break;
            case "GetLineage negative depth": await grpc.GetLineageAsync(new GetLineageRequest { ExecId = BashId.Encode(), DescendantDepth = -2 }); break;
            case "ListProcesses no host": await grpc.ListProcessesAsync(new ListProcessesRequest()); break;
            case "ListProcesses bad regex": await grpc.ListProcessesAsync(new ListProcessesRequest { Host = Host, BinaryRegex = "*sleep" }); break;
            case "ListProcesses impossible window": await grpc.ListProcessesAsync(new ListProcessesRequest { Host = Host, Since = onePm, Until = noon }); break;
            case "ListProcesses bad timestamp": await grpc.ListProcessesAsync(new ListProcessesRequest { Host = Host, Since = new Timestamp { Nanos = -5 } }); break;
            case "ListProcesses huge limit": await grpc.ListProcessesAsync(new ListProcessesRequest { Host = Host, Limit = ApiInput.MaxListLimit + 1 }); break;
            case "Replay no since": await Drain(grpc.Replay(new ReplayRequest { Host = Host })); break;
            case "Replay impossible window": await Drain(grpc.Replay(new ReplayRequest { Host = Host, Since = onePm, Until = noon })); break;
            case "Replay no host": await Drain(grpc.Replay(new ReplayRequest { Since = noon })); break;
            case "StreamEvents unspecified kind": await Drain(grpc.StreamEvents(new StreamEventsRequest { Kinds = { EventKind.Exec, EventKind.Unspecified } })); break;
            case "StreamEvents malformed exec_id": await Drain(grpc.StreamEvents(new StreamEventsRequest { ExecId = "%%%" })); break;
            case "StreamEvents bad regex": await Drain(grpc.StreamEvents(new StreamEventsRequest { BinaryRegex = "(?<" })); break;
            default: throw new ArgumentOutOfRangeException(nameof(call), call, "no such case");
        }
    }

    private static async Task Drain(AsyncServerStreamingCall<Event> call)
    {
        using (call)
            await foreach (var _ in call.ResponseStream.ReadAllAsync()) { }
    }
}
