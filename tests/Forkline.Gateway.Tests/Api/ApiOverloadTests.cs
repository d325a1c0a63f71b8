using System.Net;
using System.Text.Json;
using Forkline.Contracts.Api;
using Forkline.Gateway.Api;
using Forkline.Gateway.Queries;
using Grpc.Core;
using static Forkline.Gateway.Tests.Api.SampleProcesses;

namespace Forkline.Gateway.Tests.Api;

/// <summary>Beyond the query limits a caller gets 429 / 503 with a retry hint, never a 500; replies stay bounded.</summary>
public sealed class ApiOverloadTests
{
    private static readonly QueryLimits OneAtATime = new()
    {
        Concurrent = 1, Queued = 1, BulkConcurrent = 1, BulkQueued = 0, QueueWait = TimeSpan.FromSeconds(30), Deadline = TimeSpan.FromSeconds(2),
        RetryAfter = TimeSpan.FromSeconds(3),
        // These tests hold a query while others queue: no shorter wait for being overloaded, tested on its own below.
        OverloadQueueWait = TimeSpan.FromSeconds(30),
    };

    [Fact]
    public async Task Beyond_the_running_and_queued_queries_the_one_that_waited_longest_gets_429_with_retry_after_and_resource_exhausted_on_grpc()
    {
        var queries = NewQueries();
        queries.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var api = await ApiTestServer.StartAsync(queries, new ApiSettings { Limits = OneAtATime with { Deadline = TimeSpan.FromSeconds(30) } });
        var path = $"/api/v1/processes/{BashId.Encode()}";

        var running = api.Http.GetAsync(path);
        await WaitUntil(() => queries.GetProcessCalls == 1);
        var oldestOnGrpc = api.Grpc.GetProcessAsync(new GetProcessRequest { ExecId = BashId.Encode() }).ResponseAsync;
        await WaitUntil(() => api.Server.Admission.Waiting == 1);
        var newer = api.Http.GetAsync(path);
        var grpcRefused = await Assert.ThrowsAsync<RpcException>(() => oldestOnGrpc);
        var newest = api.Http.GetAsync(path);
        using var refused = await newer;
        queries.Hold.SetResult();
        using var first = await running;
        using var last = await newest;

        Assert.Equal(StatusCode.ResourceExhausted, grpcRefused.StatusCode);
        Assert.Equal("3000", grpcRefused.Trailers.GetValue("grpc-retry-pushback-ms"));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("resource_exhausted", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, last.StatusCode));
    }

    [Fact]
    public async Task A_freed_slot_goes_to_the_query_that_waited_least_so_those_served_under_overload_waited_little()
    {
        using var admission = new QueryAdmission(new QueryLimits
        {
            Concurrent = 1, Queued = 2, QueueWait = TimeSpan.FromSeconds(30), OverloadQueueWait = TimeSpan.FromSeconds(30), Deadline = TimeSpan.FromSeconds(30),
        });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task<int> Query(string name, Task? hold = null) => admission.RunAsync(name, QueryWeight.Small, async _ =>
        {
            if (hold is not null) await hold;
            order.Enqueue(name);
            return 0;
        }, CancellationToken.None);

        var running = Query("running", release.Task);
        var older = Query("older");
        var newer = Query("newer");
        await WaitUntil(() => admission.Waiting == 2);
        release.SetResult();
        await Task.WhenAll(running, older, newer);

        Assert.Equal(["running", "newer", "older"], order);
    }

    [Fact]
    public async Task Once_the_queue_stayed_full_a_query_that_waited_past_the_overload_wait_is_refused_while_the_last_one_of_a_burst_is_served()
    {
        var overloadWait = TimeSpan.FromMilliseconds(200);
        using var admission = new QueryAdmission(new QueryLimits
        {
            Concurrent = 1, Queued = 2, QueueWait = TimeSpan.FromSeconds(30), OverloadQueueWait = overloadWait, Deadline = TimeSpan.FromSeconds(30),
        });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task<int> Query(string name, Task? hold = null) => admission.RunAsync(name, QueryWeight.Small, async _ =>
        {
            if (hold is not null) await hold;
            order.Enqueue(name);
            return 0;
        }, CancellationToken.None);

        var running = Query("running", release.Task);
        var older = Query("older");
        await WaitUntil(() => admission.Waiting == 1);
        var newer = Query("newer");
        // On a slow machine the newer one may already arrive to an overloaded queue and give up by itself: refused either way.
        await WaitUntil(() => admission.Waiting == 2 || newer.IsCompleted);
        // Time, not a race: the queue has now not been empty for at least twice the overload wait.
        await Task.Delay(overloadWait * 2);
        release.SetResult();
        var refused = await Assert.ThrowsAsync<ApiRequestException>(() => newer);
        await Task.WhenAll(running, older);

        Assert.Equal(ApiErrorCode.ResourceExhausted, refused.Code);
        // The older one waited as long, but its slot came when the queue had emptied: the overload was over.
        Assert.Equal(["running", "older"], order);
    }

    [Fact]
    public async Task A_query_that_waits_too_long_for_a_slot_is_429_not_503_as_the_gateway_is_busy_not_the_query_slow()
    {
        var queries = NewQueries();
        queries.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var api = await ApiTestServer.StartAsync(queries, new ApiSettings
        {
            Limits = OneAtATime with { QueueWait = TimeSpan.FromMilliseconds(300), Deadline = TimeSpan.FromSeconds(30) },
        });
        var path = $"/api/v1/processes/{BashId.Encode()}";

        var running = api.Http.GetAsync(path);
        await WaitUntil(() => queries.GetProcessCalls == 1);
        using var waited = await api.Http.GetAsync(path);
        queries.Hold.SetResult();
        using var first = await running;

        Assert.Equal(HttpStatusCode.TooManyRequests, waited.StatusCode);
        Assert.Contains("waited 0.3 s", await waited.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
    }

    [Fact]
    public async Task Bulk_queries_filling_their_lane_do_not_delay_small_queries()
    {
        var queries = NewQueries();
        queries.HoldLists = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var api = await ApiTestServer.StartAsync(queries, new ApiSettings { Limits = OneAtATime with { Deadline = TimeSpan.FromSeconds(30) } });

        var bulk = api.Http.GetAsync($"/api/v1/hosts/{Host}/processes?limit={ApiInput.MaxListLimit}");
        await WaitUntil(() => queries.ListCalls == 1);
        using var refusedBulk = await api.Http.GetAsync($"/api/v1/hosts/{Host}/processes?limit={ApiInput.MaxListLimit}");
        using var small = await api.Http.GetAsync($"/api/v1/processes/{BashId.Encode()}");
        queries.HoldLists.SetResult();
        using var bulkDone = await bulk;

        Assert.Equal(HttpStatusCode.TooManyRequests, refusedBulk.StatusCode);
        Assert.Contains("bulk queries", await refusedBulk.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bulkDone.StatusCode);
    }

    [Fact]
    public async Task A_query_past_its_deadline_is_503_unavailable_with_retry_after()
    {
        var queries = NewQueries();
        queries.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var api = await ApiTestServer.StartAsync(queries, new ApiSettings { Limits = OneAtATime });

        using var response = await api.Http.GetAsync($"/api/v1/processes/{BashId.Encode()}");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("did not finish within its deadline of 2 s", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_host_entity_that_does_not_answer_in_time_is_503_and_unavailable_not_an_internal_error()
    {
        var queries = NewQueries();
        queries.Fault = new TimeoutException("the host entity did not answer GetLiveLineage within 5 s");
        await using var api = await ApiTestServer.StartAsync(queries);

        using var response = await api.Http.GetAsync($"/api/v1/lineage/{BashId.Encode()}");
        var grpc = await Assert.ThrowsAsync<RpcException>(async () => await api.Grpc.GetLineageAsync(new GetLineageRequest { ExecId = BashId.Encode() }));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("did not answer GetLiveLineage", await response.Content.ReadAsStringAsync());
        Assert.Equal(StatusCode.Unavailable, grpc.StatusCode);
    }

    [Fact]
    public async Task A_live_stream_is_opened_with_the_backlog_the_limits_allow_it()
    {
        var queries = NewQueries();
        await using var api = await ApiTestServer.StartAsync(queries, new ApiSettings { Limits = new QueryLimits { StreamBacklog = 123, StreamBacklogBytes = 4_567 } });
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var call = api.Grpc.StreamEvents(new StreamEventsRequest(), cancellationToken: cancel.Token);
        await queries.StreamOpened.Task.WaitAsync(cancel.Token);

        Assert.Equal(new StreamBacklog(123, 4_567), queries.LastStreamBacklog);
    }

    [Fact]
    public async Task A_list_longer_than_the_limit_comes_as_a_page_that_says_there_is_more()
    {
        await using var api = await ApiTestServer.StartAsync(NewQueries());

        var page = await api.Grpc.ListProcessesAsync(new ListProcessesRequest { Host = Host, Limit = 2 });
        var whole = await api.Grpc.ListProcessesAsync(new ListProcessesRequest { Host = Host, Limit = 3 });

        Assert.Equal(2, page.Processes.Count);
        Assert.True(page.More);
        Assert.Equal(3, whole.Processes.Count);
        Assert.False(whole.More);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition()) await Task.Delay(20, timeout.Token);
    }
}
