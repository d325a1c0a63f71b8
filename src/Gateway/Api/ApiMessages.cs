using Forkline.Contracts.Api;
using Forkline.Contracts.History;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Accounting;
using Forkline.Gateway.Queries;
using Google.Protobuf.WellKnownTypes;

namespace Forkline.Gateway.Api;

/// <summary>Maps query results and events to the API's protobuf messages, which both transports send.</summary>
public sealed class ApiMessages(IEventJsonFormatter eventJson)
{
    public static Process ToProcess(ProcessRecord record)
    {
        var process = new Process
        {
            ExecId = record.ExecId,
            Host = record.Host,
            Pid = record.Pid,
            ParentExecId = record.ParentExecId ?? "",
            Binary = record.Binary,
            Arguments = record.Arguments,
            Cwd = record.Cwd,
            StartTime = Timestamp.FromDateTime(record.StartTime.AsUtc()),
            Live = record.Live,
        };
        if (record.Uid is { } uid) process.Uid = uid;
        SetContainer(process, record.Container, record.MaybeExecProbe);
        process.NamespacePid = record.NamespacePid;
        if (record.ExitTime is { } exitTime) process.ExitTime = Timestamp.FromDateTime(exitTime.AsUtc());
        if (record.ExitStatus is { } status) process.ExitStatus = status;
        if (record.ExitSignal is { } signal) process.ExitSignal = signal;
        process.End = ToEnd(record.End);
        if (record.EndedAfter is { } endedAfter) process.EndedAfter = Timestamp.FromDateTime(endedAfter.AsUtc());
        return process;
    }

    public static GetLineageResponse ToLineage(LineageResult lineage)
    {
        var response = new GetLineageResponse { Process = ToProcess(lineage.Process), DescendantsTruncated = lineage.DescendantsTruncated };
        foreach (var ancestor in lineage.Ancestors) response.Ancestors.Add(ToProcess(ancestor));
        foreach (var descendant in lineage.Descendants) response.Descendants.Add(ToProcess(descendant));
        return response;
    }

    public static GetHostStatsResponse ToHostStats(string host, HostStats hostStats)
    {
        var response = new GetHostStatsResponse { Host = host };
        foreach (var gap in hostStats.Gaps) response.Gaps.Add(ToGap(gap));
        foreach (var run in hostStats.Runs)
        {
            var stats = new RunStats
            {
                RunId = run.RunId,
                Stored = (ulong)run.Gateway.Stored,
                AlreadyStored = (ulong)run.Gateway.AlreadyStored,
                RejectedAtGateway = (ulong)run.Gateway.Rejected,
                ResentReceipts = (ulong)run.Gateway.ResentReceipts,
            };
            if (run.Report is { } report && run.Balance is { } balance)
            {
                var wire = RunReportWire.ToWire(report);
                stats.Source = report.SourceName;
                stats.Started = Timestamp.FromDateTime(report.StartedUtc.AsUtc());
                stats.Reported = Timestamp.FromDateTime(report.ReportedUtc.AsUtc());
                stats.Final = report.Final;
                stats.Counts = wire.Counts;
                stats.InFlight = balance.InFlight;
                stats.AcknowledgedNotStored = balance.AcknowledgedNotStored;
                stats.Balanced = balance.Balanced;
                stats.StoredAfterLastReport = (ulong)Math.Max(0, -balance.AcknowledgedNotStored);
            }
            if (run.Crash is { } crash)
            {
                stats.Crashed = true;
                stats.CrashFoundBy = crash.FoundBy;
                stats.CrashFound = Timestamp.FromDateTime(crash.At.AsUtc());
            }
            response.Runs.Add(stats);
        }
        return response;
    }

    public static SnapshotHostResponse ToSnapshot(HostSnapshotResult snapshot) =>
        new() { Host = snapshot.Host, SequenceNr = snapshot.SequenceNr, Processes = snapshot.Processes };

    public static ListProcessesResponse ToProcessList(ProcessList list)
    {
        var response = new ListProcessesResponse { More = list.More };
        foreach (var record in list.Processes) response.Processes.Add(ToProcess(record));
        return response;
    }

    public Event ToEvent(EnrichedEvent enriched) => new()
    {
        Kind = ToKind(enriched.Kind),
        Host = enriched.Node,
        ExecId = enriched.Process.ExecId.Encode(),
        Time = Timestamp.FromDateTime(enriched.Time.AsUtc()),
        Process = ToProcess(ProcessRecords.From(enriched.Process, live: enriched.Process.Exit is null)),
        HookName = (enriched as EnrichedHook)?.Hook.Hook.Name ?? "",
        Json = eventJson.Format(enriched),
    };

    public string ToJsonLine(EnrichedEvent enriched) => eventJson.Format(enriched);

    /// <summary>
    /// A stream's notice that it fell behind and <paramref name="missed"/> events were dropped for it; named
    /// for this machine, where they were dropped. Only <c>missed_events</c>, <c>time</c> and <c>json</c> are set.
    /// </summary>
    public Event ToMissedEvents(long missed, DateTime time) => new()
    {
        MissedEvents = (ulong)missed,
        Time = Timestamp.FromDateTime(time.AsUtc()),
        Json = ToMissedEventsJsonLine(missed, time),
    };

    public string ToMissedEventsJsonLine(long missed, DateTime time) => eventJson.FormatDropped(missed, Environment.MachineName, time);

    public Event ToEvent(StreamItem item) => item switch
    {
        { Event: { } enriched } => ToEvent(enriched),
        { Gap: { } gap } => new Event { Host = gap.Host, Time = Timestamp.FromDateTime(gap.To.AsUtc()), Gap = ToGap(gap), Json = eventJson.FormatGap(gap) },
        _ => ToMissedEvents(item.Missed, DateTime.UtcNow),
    };

    public string ToJsonLine(StreamItem item) => item switch
    {
        { Event: { } enriched } => ToJsonLine(enriched),
        { Gap: { } gap } => eventJson.FormatGap(gap),
        _ => ToMissedEventsJsonLine(item.Missed, DateTime.UtcNow),
    };

    public static Gap ToGap(HostGap gap) => new()
    {
        Host = gap.Host,
        From = Timestamp.FromDateTime(gap.From.AsUtc()),
        To = Timestamp.FromDateTime(gap.To.AsUtc()),
        Reason = gap.Reason switch
        {
            HostGapReason.CollectorStopped => GapReason.CollectorStopped,
            HostGapReason.CollectorCrashed => GapReason.CollectorCrashed,
            HostGapReason.RingLoss => GapReason.RingLoss,
            HostGapReason.ForwarderDropped => GapReason.ForwarderDropped,
            _ => GapReason.Unspecified,
        },
        RunId = gap.RunId,
        NextRunId = gap.NextRunId,
        LostRecords = gap.LostRecords,
    };

    public static EventKind ToKind(EnrichedKind kind) => kind switch
    {
        EnrichedKind.Exec => EventKind.Exec,
        EnrichedKind.Exit => EventKind.Exit,
        EnrichedKind.Clone => EventKind.Clone,
        EnrichedKind.Hook => EventKind.Hook,
        _ => EventKind.Unspecified,
    };

    public static EnrichedKind FromKind(EventKind kind) => kind switch
    {
        EventKind.Exec => EnrichedKind.Exec,
        EventKind.Exit => EnrichedKind.Exit,
        EventKind.Clone => EnrichedKind.Clone,
        EventKind.Hook => EnrichedKind.Hook,
        _ => throw ApiRequestException.Invalid($"event kind {kind} is not one of exec, exit, clone, hook"),
    };

    /// <summary>The container and as much of its pod as the API server told; nothing outside containers.</summary>
    private static void SetContainer(Process process, ContainerIdentity? container, bool maybeExecProbe)
    {
        if (container is null) return;
        process.ContainerId = container.ContainerId;
        process.PodUid = container.PodUid ?? "";
        if (container.Pod is not { } pod) return;
        process.PodNamespace = pod.Namespace;
        process.PodName = pod.Name;
        foreach (var (key, value) in pod.Labels) process.PodLabels[key] = value;
        if (!pod.Annotations.IsDefaultOrEmpty)
            foreach (var (key, value) in pod.Annotations) process.PodAnnotations[key] = value;
        process.PodWorkload = pod.Workload;
        process.PodWorkloadKind = pod.WorkloadKind;
        if (pod.Container is not { } named) return;
        process.ContainerRuntimeId = named.RuntimeId;
        process.ContainerName = named.Name;
        process.ContainerImage = named.ImageName;
        process.ContainerImageId = named.ImageId;
        if (named.StartedAt is { } startedAt) process.ContainerStartTime = Timestamp.FromDateTime(startedAt.AsUtc());
        process.ContainerPrivileged = named.Privileged;
        process.ContainerMaybeExecProbe = maybeExecProbe;
    }

    private static ProcessEnd ToEnd(ProcessEndKind end) => end switch
    {
        ProcessEndKind.Exited => ProcessEnd.Exited,
        ProcessEndKind.Replaced => ProcessEnd.Replaced,
        ProcessEndKind.ConcludedAtRestart => ProcessEnd.ConcludedAtRestart,
        ProcessEndKind.ConcludedLost => ProcessEnd.ConcludedLost,
        _ => ProcessEnd.Unspecified,
    };
}

internal static class DateTimeKinds
{
    /// <summary>Times from storage may come back without a kind; the gateway stores UTC only.</summary>
    public static DateTime AsUtc(this DateTime time) => time.Kind switch
    {
        DateTimeKind.Utc => time,
        DateTimeKind.Local => time.ToUniversalTime(),
        _ => DateTime.SpecifyKind(time, DateTimeKind.Utc),
    };
}
