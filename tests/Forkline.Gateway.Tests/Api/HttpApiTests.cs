using System.Net;
using System.Text.Json;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Api;
using static Forkline.Gateway.Tests.Api.SampleProcesses;

namespace Forkline.Gateway.Tests.Api;

public sealed class HttpApiTests : IAsyncLifetime
{
    private ApiTestServer _api = null!;

    public async Task InitializeAsync() => _api = await ApiTestServer.StartAsync(NewQueries());

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Get_process_returns_the_process_with_snake_case_fields()
    {
        using var response = await _api.Http.GetAsync($"/api/v1/processes/{SleepId.Encode()}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var process = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("process");
        Assert.Equal(SleepId.Encode(), process.GetProperty("exec_id").GetString());
        Assert.Equal(BashId.Encode(), process.GetProperty("parent_exec_id").GetString());
        Assert.Equal(200, process.GetProperty("pid").GetInt32());
        Assert.False(process.GetProperty("live").GetBoolean());
        Assert.Equal("2025-01-31T12:00:03.200Z", process.GetProperty("exit_time").GetString());
    }

    [Fact]
    public async Task A_process_of_a_described_pod_carries_its_labels_workload_and_container_image()
    {
        const string containerId = "3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3a";
        const string podUid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59";
        var pod = new KubernetesPod(podUid, "shop", "web-1", [new("app", "web"), new("tier", "front")], "web", "Deployment",
            new KubernetesContainer("containerd://" + containerId, "server", "registry.example/shop/server:1.4", "registry.example/shop/server@sha256:6c5b",
                StartedAt: new DateTime(2025, 1, 31, 11, 58, 7, 250, DateTimeKind.Utc), Privileged: true),
            [new("prometheus.io/scrape", "true"), new("shop.example/owner", "team \"web\"")]);
        var id = new Contracts.Identity.ExecId(Host, 77, 77).Encode();
        _api.Queries.Processes.Add(Init with { ExecId = id, Container = new ContainerIdentity(containerId, podUid, pod), MaybeExecProbe = true, NamespacePid = 7 });

        using var response = await _api.Http.GetAsync($"/api/v1/processes/{Uri.EscapeDataString(id)}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var process = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("process");
        Assert.Equal((containerId, podUid, "shop", "web-1"),
            (process.GetProperty("container_id").GetString(), process.GetProperty("pod_uid").GetString(),
             process.GetProperty("pod_namespace").GetString(), process.GetProperty("pod_name").GetString()));
        Assert.Equal([("app", "web"), ("tier", "front")],
            process.GetProperty("pod_labels").EnumerateObject().Select(label => (label.Name, label.Value.GetString())));
        Assert.Equal(("web", "Deployment"), (process.GetProperty("pod_workload").GetString(), process.GetProperty("pod_workload_kind").GetString()));
        Assert.Equal(("containerd://" + containerId, "server", "registry.example/shop/server:1.4", "registry.example/shop/server@sha256:6c5b"),
            (process.GetProperty("container_runtime_id").GetString(), process.GetProperty("container_name").GetString(),
             process.GetProperty("container_image").GetString(), process.GetProperty("container_image_id").GetString()));
        Assert.Equal([("prometheus.io/scrape", "true"), ("shop.example/owner", "team \"web\"")],
            process.GetProperty("pod_annotations").EnumerateObject().Select(annotation => (annotation.Name, annotation.Value.GetString())));
        Assert.Equal(("2025-01-31T11:58:07.250Z", true, true, 7),
            (process.GetProperty("container_start_time").GetString(), process.GetProperty("container_privileged").GetBoolean(),
             process.GetProperty("container_maybe_exec_probe").GetBoolean(), process.GetProperty("namespace_pid").GetInt32()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_exec_id_containing_a_slash_reaches_the_queries_raw_or_url_encoded(bool encoded)
    {
        var id = IdWithSlash().Encode();
        _api.Queries.Processes.Add(Init with { ExecId = id });
        var path = encoded ? Uri.EscapeDataString(id) : id;

        using var response = await _api.Http.GetAsync($"/api/v1/processes/{path}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var process = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("process");
        Assert.Equal(id, process.GetProperty("exec_id").GetString());
    }

    [Fact]
    public async Task Lineage_returns_ancestors_and_descendants_to_the_depth_parameter()
    {
        using var response = await _api.Http.GetAsync($"/api/v1/lineage/{SleepId.Encode()}?depth=2");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lineage = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(
            [BashId.Encode(), InitId.Encode()],
            lineage.GetProperty("ancestors").EnumerateArray().Select(p => p.GetProperty("exec_id").GetString()));
        Assert.Empty(lineage.GetProperty("descendants").EnumerateArray());
        Assert.Equal(2, _api.Queries.LastDescendantDepth);
    }

    [Fact]
    public async Task Host_processes_hands_the_query_parameters_to_the_queries()
    {
        using var response = await _api.Http.GetAsync(
            $"/api/v1/hosts/{Host}/processes?binary=sleep&pid=200&live=false&since=2025-01-31T11:00:00Z&until=2025-01-31T13:00:00%2B01:00&limit=5&pod=web-1&namespace=shop");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var processes = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("processes");
        Assert.Equal([SleepId.Encode()], processes.EnumerateArray().Select(p => p.GetProperty("exec_id").GetString()));
        var query = _api.Queries.LastListQuery!;
        Assert.Equal(("sleep", 200, false, 5 + 1), (query.BinaryRegex, query.Pid, query.Live, query.Limit)); // one more: is there a next page
        Assert.Equal(("web-1", "shop"), (query.Pod, query.PodNamespace));
        Assert.Equal(new DateTime(2025, 1, 31, 11, 0, 0, DateTimeKind.Utc), query.StartedAfter);
        Assert.Equal(new DateTime(2025, 1, 31, 12, 0, 0, DateTimeKind.Utc), query.StartedBefore);
    }

    [Fact]
    public async Task Events_stream_ndjson_export_lines_until_the_caller_hangs_up()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await _api.Http.GetAsync(
            $"/api/v1/events?host={Host}&type=exec,exit&exec_id={SleepId.Encode()}&binary=sleep",
            HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        using var lines = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));

        _api.Queries.Publish(Exec(SleepId, BashId, "/bin/sleep"));
        var first = await lines.ReadLineAsync(cancel.Token);
        _api.Queries.Publish(Exit(SleepId, BashId, "/bin/sleep", 0));
        var second = await lines.ReadLineAsync(cancel.Token);
        response.Dispose();

        Assert.True(JsonDocument.Parse(first!).RootElement.TryGetProperty("process_exec", out _));
        Assert.True(JsonDocument.Parse(second!).RootElement.TryGetProperty("process_exit", out _));
        Assert.Equal(SleepId.Encode(), _api.Queries.LastStreamFilter!.ExecId);
        Assert.Equal("sleep", _api.Queries.LastStreamFilter.BinaryRegex);
        await _api.Queries.StreamEnded.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_stream_that_fell_behind_reads_a_rate_limit_info_line_with_the_count_it_missed()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await _api.Http.GetAsync("/api/v1/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        using var lines = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));

        _api.Queries.PublishMissed(77);
        var notice = await lines.ReadLineAsync(cancel.Token);
        response.Dispose();

        var root = JsonDocument.Parse(notice!).RootElement;
        Assert.Equal("77", root.GetProperty("rate_limit_info").GetProperty("number_of_dropped_process_events").GetString());
        Assert.True(root.TryGetProperty("time", out _));
        Assert.True(root.TryGetProperty("node_name", out _));
    }

    [Fact]
    public async Task Replay_returns_the_history_as_ndjson_in_order()
    {
        var history = new EnrichedEvent[] { Exec(BashId, InitId, "/bin/bash"), Exec(SleepId, BashId, "/bin/sleep"), Exit(SleepId, BashId, "/bin/sleep", 0) };
        _api.Queries.History.AddRange(history);

        var body = await _api.Http.GetStringAsync($"/api/v1/hosts/{Host}/replay?since=2025-01-31T11:00:00Z");

        var formatter = new ExportJsonFormatter();
        Assert.Equal(history.Select(formatter.Format), body.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(new DateTime(2025, 1, 31, 11, 0, 0, DateTimeKind.Utc), _api.Queries.LastReplay!.Value.From);
    }

    [Fact]
    public async Task Health_is_ok_and_readiness_follows_the_gateway()
    {
        var ready = false;
        await using var api = await ApiTestServer.StartAsync(NewQueries(), new ApiSettings { IsReady = () => ready });

        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await api.Http.GetAsync("/readyz")).StatusCode);
        ready = true;
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync("/readyz")).StatusCode);
    }
}
