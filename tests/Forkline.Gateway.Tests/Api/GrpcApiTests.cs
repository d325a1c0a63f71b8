using System.Text.Json;
using Forkline.Contracts.Api;
using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Api;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using static Forkline.Gateway.Tests.Api.SampleProcesses;

namespace Forkline.Gateway.Tests.Api;

public sealed class GrpcApiTests : IAsyncLifetime
{
    private ApiTestServer _api = null!;

    public async Task InitializeAsync() => _api = await ApiTestServer.StartAsync(NewQueries());

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task GetProcess_returns_an_exited_process_with_its_exit()
    {
        var response = await _api.Grpc.GetProcessAsync(new GetProcessRequest { ExecId = SleepId.Encode() });

        var process = response.Process;
        Assert.Equal(SleepId.Encode(), process.ExecId);
        Assert.Equal(Host, process.Host);
        Assert.Equal(200, process.Pid);
        Assert.Equal(BashId.Encode(), process.ParentExecId);
        Assert.Equal("/bin/sleep", process.Binary);
        Assert.Equal("0.2", process.Arguments);
        Assert.False(process.Live);
        Assert.Equal(Sleep.StartTime, process.StartTime.ToDateTime());
        Assert.Equal(Sleep.ExitTime, process.ExitTime.ToDateTime());
        Assert.True(process.HasExitStatus);
        Assert.Equal(0, process.ExitStatus);
    }

    [Fact]
    public async Task GetProcess_and_GetLineage_carry_the_containers_start_time_privilege_and_the_exec_probe_flag()
    {
        const string containerId = "3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3a";
        const string podUid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59";
        var startedAt = new DateTime(2025, 1, 31, 11, 58, 7, 250, DateTimeKind.Utc);
        var pod = new Contracts.Identity.KubernetesPod(podUid, "shop", "web-1", [], "web", "Deployment",
            new Contracts.Identity.KubernetesContainer("containerd://" + containerId, "server", "server:1.4", "server@sha256:6c5b", startedAt, Privileged: true));
        var id = new Contracts.Identity.ExecId(Host, 77, 77).Encode();
        var notStarted = new Contracts.Identity.ExecId(Host, 78, 78).Encode();
        var container = new Contracts.Identity.ContainerIdentity(containerId, podUid, pod);
        _api.Queries.Processes.Add(Init with { ExecId = id, Container = container, MaybeExecProbe = true });
        _api.Queries.Processes.Add(Init with
        {
            ExecId = notStarted, Pid = 78,
            Container = container with { Pod = pod with { Container = pod.Container! with { StartedAt = null, Privileged = false } } },
        });

        var process = (await _api.Grpc.GetProcessAsync(new GetProcessRequest { ExecId = id })).Process;
        var other = (await _api.Grpc.GetLineageAsync(new GetLineageRequest { ExecId = notStarted })).Process;

        Assert.Equal((startedAt, true, true), (process.ContainerStartTime.ToDateTime(), process.ContainerPrivileged, process.ContainerMaybeExecProbe));
        Assert.Equal((null, false, false), (other.ContainerStartTime, other.ContainerPrivileged, other.ContainerMaybeExecProbe));
    }

    [Fact]
    public async Task GetProcess_of_a_live_process_has_no_exit_fields()
    {
        var process = (await _api.Grpc.GetProcessAsync(new GetProcessRequest { ExecId = BashId.Encode() })).Process;

        Assert.True(process.Live);
        Assert.Null(process.ExitTime);
        Assert.False(process.HasExitStatus);
        Assert.False(process.HasExitSignal);
    }

    [Fact]
    public async Task GetLineage_returns_ancestors_parent_first_and_descendants_to_the_requested_depth()
    {
        var lineage = await _api.Grpc.GetLineageAsync(new GetLineageRequest { ExecId = BashId.Encode(), DescendantDepth = 5 });

        Assert.Equal(BashId.Encode(), lineage.Process.ExecId);
        Assert.Equal([InitId.Encode()], lineage.Ancestors.Select(p => p.ExecId));
        Assert.Equal([SleepId.Encode()], lineage.Descendants.Select(p => p.ExecId));
        Assert.Equal(5, _api.Queries.LastDescendantDepth);
    }

    [Fact]
    public async Task GetLineage_without_a_depth_asks_for_the_default_depth()
    {
        await _api.Grpc.GetLineageAsync(new GetLineageRequest { ExecId = SleepId.Encode() });

        Assert.Equal(ApiInput.DefaultDescendantDepth, _api.Queries.LastDescendantDepth);
    }

    [Fact]
    public async Task ListProcesses_hands_every_filter_to_the_queries()
    {
        var since = Boot.AddHours(-1);
        var until = Boot.AddHours(1);
        var response = await _api.Grpc.ListProcessesAsync(new ListProcessesRequest
        {
            Host = Host,
            BinaryRegex = "^/bin/",
            Pid = 100,
            Live = true,
            Since = Timestamp.FromDateTime(since),
            Until = Timestamp.FromDateTime(until),
            Container = "3f1c9a7e5b2d",
            PodUid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59",
            Pod = "web-1",
            Namespace = "shop",
        });

        Assert.Equal([InitId.Encode(), BashId.Encode()], response.Processes.Select(p => p.ExecId));
        var query = _api.Queries.LastListQuery!;
        Assert.Equal(("3f1c9a7e5b2d", "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59", "web-1", "shop"), (query.Container, query.PodUid, query.Pod, query.PodNamespace));
        Assert.Equal(Host, query.Host);
        Assert.Equal("^/bin/", query.BinaryRegex);
        Assert.Equal(100, query.Pid);
        Assert.True(query.Live);
        Assert.Equal(since, query.StartedAfter);
        Assert.Equal(until, query.StartedBefore);
        Assert.Equal(ApiInput.DefaultListLimit + 1, query.Limit); // one more: is there a next page
    }

    [Fact]
    public async Task StreamEvents_delivers_published_events_and_ends_when_the_caller_cancels()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = _api.Grpc.StreamEvents(
            new StreamEventsRequest { Hosts = { Host }, Kinds = { EventKind.Exec, EventKind.Exit }, Pid = 200 },
            cancellationToken: cancel.Token);
        await _api.Queries.StreamOpened.Task.WaitAsync(cancel.Token);
        _api.Queries.Publish(Exec(SleepId, BashId, "/bin/sleep"));
        _api.Queries.Publish(Exit(SleepId, BashId, "/bin/sleep", status: 1));

        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        var exec = call.ResponseStream.Current;
        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        var exit = call.ResponseStream.Current;
        await cancel.CancelAsync();

        Assert.Equal(EventKind.Exec, exec.Kind);
        Assert.Equal(SleepId.Encode(), exec.ExecId);
        Assert.Equal(Host, exec.Host);
        Assert.Equal("/bin/sleep", exec.Process.Binary);
        Assert.Equal(SleepId.Encode(), JsonDocument.Parse(exec.Json).RootElement
            .GetProperty("process_exec").GetProperty("process").GetProperty("exec_id").GetString());
        Assert.Equal(EventKind.Exit, exit.Kind);
        Assert.Equal(1, exit.Process.ExitStatus);
        var filter = _api.Queries.LastStreamFilter!;
        Assert.Equal([Host], filter.Hosts!);
        Assert.Equal(new HashSet<EnrichedKind> { EnrichedKind.Exec, EnrichedKind.Exit }, filter.Kinds!);
        Assert.Equal(200, filter.Pid);
        await _api.Queries.StreamEnded.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_stream_that_fell_behind_gets_a_missed_events_notice_with_a_rate_limit_info_line_and_goes_on()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = _api.Grpc.StreamEvents(new StreamEventsRequest(), cancellationToken: cancel.Token);
        await _api.Queries.StreamOpened.Task.WaitAsync(cancel.Token);
        _api.Queries.PublishMissed(1_234);
        _api.Queries.Publish(Exec(SleepId, BashId, "/bin/sleep"));

        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        var notice = call.ResponseStream.Current;
        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        var next = call.ResponseStream.Current;
        await cancel.CancelAsync();

        Assert.Equal(1_234UL, notice.MissedEvents);
        Assert.Equal(EventKind.Unspecified, notice.Kind);
        Assert.Equal("1234", JsonDocument.Parse(notice.Json).RootElement.GetProperty("rate_limit_info").GetProperty("number_of_dropped_process_events").GetString());
        Assert.Equal(EventKind.Exec, next.Kind);
        Assert.Equal(0UL, next.MissedEvents);
    }

    [Fact]
    public async Task Replay_streams_the_history_in_order_and_asks_for_the_requested_window()
    {
        _api.Queries.History.AddRange([Exec(BashId, InitId, "/bin/bash"), Exec(SleepId, BashId, "/bin/sleep"), Exit(SleepId, BashId, "/bin/sleep", 0)]);
        var since = Boot.AddMinutes(-5);
        var until = Boot.AddMinutes(5);

        using var call = _api.Grpc.Replay(new ReplayRequest
        {
            Host = Host, Since = Timestamp.FromDateTime(since), Until = Timestamp.FromDateTime(until),
        });
        var received = new List<Event>();
        await foreach (var replayed in call.ResponseStream.ReadAllAsync()) received.Add(replayed);

        Assert.Equal(
            [(EventKind.Exec, BashId.Encode()), (EventKind.Exec, SleepId.Encode()), (EventKind.Exit, SleepId.Encode())],
            received.Select(e => (e.Kind, e.ExecId)));
        Assert.Equal((Host, since, until), _api.Queries.LastReplay);
    }

    [Fact]
    public async Task Replay_sends_the_gaps_of_its_window_in_order_only_when_asked()
    {
        _api.Queries.History.AddRange([Exec(BashId, InitId, "/bin/bash"), Exec(SleepId, BashId, "/bin/sleep"), Exit(SleepId, BashId, "/bin/sleep", 0)]);
        var crash = new HostGap(Host, Boot.AddSeconds(1), Boot.AddSeconds(9), HostGapReason.CollectorCrashed, "run-1", "run-2", 0);
        _api.Queries.Gaps.AddRange([crash, crash with { Host = "other-host" }, crash with { From = Boot.AddDays(1), To = Boot.AddDays(2) }]);
        var request = new ReplayRequest { Host = Host, Since = Timestamp.FromDateTime(Boot.AddMinutes(-5)), Until = Timestamp.FromDateTime(Boot.AddMinutes(5)) };

        async Task<List<Event>> ReplayAsync(ReplayRequest asked)
        {
            using var call = _api.Grpc.Replay(asked);
            var received = new List<Event>();
            await foreach (var replayed in call.ResponseStream.ReadAllAsync()) received.Add(replayed);
            return received;
        }
        var askingForGaps = request.Clone();
        askingForGaps.Gaps = true;
        var withGaps = await ReplayAsync(askingForGaps);
        var withoutGaps = await ReplayAsync(request);

        Assert.Equal(["exec", "exec", "gap", "exit"], withGaps.Select(e => e.Gap is null ? e.Kind.ToString().ToLowerInvariant() : "gap"));
        var gap = withGaps[2].Gap;
        Assert.Equal((GapReason.CollectorCrashed, Boot.AddSeconds(1), Boot.AddSeconds(9), "run-1", "run-2"),
            (gap.Reason, gap.From.ToDateTime(), gap.To.ToDateTime(), gap.RunId, gap.NextRunId));
        Assert.StartsWith("{\"forkline_gap\":{", withGaps[2].Json, StringComparison.Ordinal);
        Assert.DoesNotContain(withoutGaps, e => e.Gap is not null);
        Assert.Equal(3, withoutGaps.Count);
    }

    [Fact]
    public async Task Stopping_the_server_ends_an_open_stream_with_unavailable()
    {
        using var call = _api.Grpc.StreamEvents(new StreamEventsRequest());
        await _api.Queries.StreamOpened.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await _api.Server.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }
}
