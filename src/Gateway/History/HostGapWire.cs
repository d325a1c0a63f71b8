using Forkline.Contracts.History;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;

namespace Forkline.Gateway.History;

/// <summary>A host gap in its journal form and back.</summary>
public static class HostGapWire
{
    public static WireHostGap ToWire(HostGap gap) => new()
    {
        FromUnixTicks = WireConverter.ToUnixTicks(gap.From),
        ToUnixTicks = WireConverter.ToUnixTicks(gap.To),
        Reason = (uint)gap.Reason,
        RunId = gap.RunId,
        NextRunId = gap.NextRunId,
        LostRecords = gap.LostRecords,
    };

    public static HostGap FromWire(string host, WireHostGap wire) =>
        Enum.IsDefined((HostGapReason)wire.Reason)
            ? new HostGap(host, WireConverter.FromUnixTicks(wire.FromUnixTicks), WireConverter.FromUnixTicks(wire.ToUnixTicks),
                (HostGapReason)wire.Reason, wire.RunId, wire.NextRunId, wire.LostRecords)
            : throw new WireFormatException($"gap of host '{host}' has reason {wire.Reason}, which is none of {string.Join(", ", Enum.GetValues<HostGapReason>())}");
}
