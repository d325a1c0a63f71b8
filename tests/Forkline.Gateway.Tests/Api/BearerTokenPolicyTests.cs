using System.Net;
using System.Net.Http.Headers;
using Forkline.Contracts.Api;
using Forkline.Gateway.Api;
using Grpc.Core;
using static Forkline.Gateway.Tests.Api.SampleProcesses;

namespace Forkline.Gateway.Tests.Api;

public sealed class BearerTokenPolicyTests : IAsyncLifetime
{
    private const string ReadOnlyToken = "read-only-token";
    private const string AdminToken = "admin-token";
    private ApiTestServer _api = null!;

    public async Task InitializeAsync() =>
        _api = await ApiTestServer.StartAsync(NewQueries(), new ApiSettings { AccessPolicy = new BearerTokenPolicy([ReadOnlyToken], [AdminToken]) });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Theory]
    [InlineData(null)]
    [InlineData("guessed-token")]
    public async Task A_request_without_a_valid_token_gets_401_over_http_and_unauthenticated_over_grpc(string? token)
    {
        // Were the query to run, this fault would answer 500 instead of the refusal.
        _api.Queries.Fault = new InvalidOperationException("a refused caller's query must not run");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/processes/{BashId.Encode()}");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var refused = await _api.Http.SendAsync(request);
        var grpcRefused = await Assert.ThrowsAsync<RpcException>(async () =>
            await _api.Grpc.GetProcessAsync(new GetProcessRequest { ExecId = BashId.Encode() }, Bearer(token)));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, grpcRefused.StatusCode);
    }

    [Theory]
    [InlineData(ReadOnlyToken)]
    [InlineData(AdminToken)]
    public async Task Read_only_and_admin_tokens_may_query(string token)
    {
        var answer = await _api.Grpc.GetProcessAsync(new GetProcessRequest { ExecId = BashId.Encode() }, Bearer(token));

        Assert.Equal(BashId.Encode(), answer.Process.ExecId);
    }

    [Fact]
    public async Task A_read_only_token_is_refused_an_admin_call_with_403_and_permission_denied_and_an_admin_token_runs_it()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/hosts/host-a/snapshot")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", ReadOnlyToken) },
        };
        using var refused = await _api.Http.SendAsync(request);
        var grpcRefused = await Assert.ThrowsAsync<RpcException>(async () =>
            await _api.Grpc.SnapshotHostAsync(new SnapshotHostRequest { Host = "host-a" }, Bearer(ReadOnlyToken)));
        Assert.Empty(_api.Queries.SnapshotsRequested);

        var taken = await _api.Grpc.SnapshotHostAsync(new SnapshotHostRequest { Host = "host-a" }, Bearer(AdminToken));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("SnapshotHost needs an admin token", await refused.Content.ReadAsStringAsync());
        Assert.Equal(StatusCode.PermissionDenied, grpcRefused.StatusCode);
        Assert.Equal(("host-a", 42L), (taken.Host, taken.SequenceNr));
        Assert.Equal(["host-a"], _api.Queries.SnapshotsRequested);
    }

    [Fact]
    public void Queries_and_metrics_need_a_read_only_token_and_every_other_operation_an_admin_one()
    {
        ApiOperation[] queries =
        [
            ApiOperation.GetProcess, ApiOperation.GetLineage, ApiOperation.ListProcesses, ApiOperation.StreamEvents, ApiOperation.Replay,
            ApiOperation.GetHostStats, ApiOperation.ReadMetrics,
        ];
        Assert.All(queries, operation => Assert.Equal(ApiAccessLevel.ReadOnly, BearerTokenPolicy.Required(operation)));
        Assert.All(Enum.GetValues<ApiOperation>().Except(queries), operation => Assert.Equal(ApiAccessLevel.Admin, BearerTokenPolicy.Required(operation)));
    }

    [Fact]
    public void A_policy_without_tokens_or_with_a_blank_token_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new BearerTokenPolicy([], []));
        Assert.Throws<ArgumentException>(() => new BearerTokenPolicy([" "], [AdminToken]));
    }

    private static Metadata Bearer(string? token) => token is null ? [] : new Metadata { { "authorization", "Bearer " + token } };
}
