using System.Net;
using System.Net.Http.Headers;
using Forkline.Contracts.Api;
using Forkline.Gateway.Api;
using Grpc.Core;
using static Forkline.Gateway.Tests.Api.SampleProcesses;

namespace Forkline.Gateway.Tests.Api;

public sealed class ApiAccessPolicyTests
{
    /// <summary>Admits only bearer token "letmein", as a token policy will.</summary>
    private sealed class SingleTokenPolicy : ApiAccessPolicy
    {
        public List<ApiOperation> Asked { get; } = [];

        public override ApiAccessDecision Authorize(ApiCaller caller)
        {
            lock (Asked) Asked.Add(caller.Operation);
            return caller.BearerToken == "letmein" ? ApiAccessDecision.Allow : ApiAccessDecision.Unauthenticated("a valid bearer token is required");
        }
    }

    [Fact]
    public async Task A_refusing_policy_answers_401_and_unauthenticated_and_admits_a_valid_token()
    {
        var policy = new SingleTokenPolicy();
        await using var api = await ApiTestServer.StartAsync(NewQueries(), new ApiSettings { AccessPolicy = policy });
        var path = $"/api/v1/processes/{BashId.Encode()}";

        using var refused = await api.Http.GetAsync(path);
        using var admitted = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "letmein") } };
        using var admittedResponse = await api.Http.SendAsync(admitted);
        var grpcRefused = await Assert.ThrowsAsync<RpcException>(async () =>
            await api.Grpc.GetLineageAsync(new GetLineageRequest { ExecId = BashId.Encode() }));
        var grpcAdmitted = await api.Grpc.GetLineageAsync(
            new GetLineageRequest { ExecId = BashId.Encode() }, new Metadata { { "authorization", "Bearer letmein" } });

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("GetProcess refused: a valid bearer token is required", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, admittedResponse.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, grpcRefused.StatusCode);
        Assert.Equal(BashId.Encode(), grpcAdmitted.Process.ExecId);
        Assert.Equal([ApiOperation.GetProcess, ApiOperation.GetProcess, ApiOperation.GetLineage, ApiOperation.GetLineage], policy.Asked);
    }

    [Fact]
    public async Task Metrics_of_a_gateway_with_tokens_need_the_read_only_token()
    {
        var policy = new BearerTokenPolicy(readOnlyTokens: ["reader"], adminTokens: ["admin"]);
        await using var api = await ApiTestServer.StartAsync(NewQueries(), new ApiSettings { AccessPolicy = policy });

        using var refused = await api.Http.GetAsync("/metrics");
        using var withToken = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "reader") } };
        using var admitted = await api.Http.SendAsync(withToken);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.DoesNotContain("forkline_", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        Assert.Contains("forkline_api_errors_total", await admitted.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Health_endpoints_are_not_subject_to_the_policy()
    {
        await using var api = await ApiTestServer.StartAsync(NewQueries(), new ApiSettings { AccessPolicy = new SingleTokenPolicy() });

        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync("/readyz")).StatusCode);
    }
}
