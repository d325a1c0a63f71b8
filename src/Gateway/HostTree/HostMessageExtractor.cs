using Akka.Cluster.Sharding;
using Forkline.Contracts.Wire;

namespace Forkline.Gateway.HostTree;

/// <summary>Routes every host-entity message by its host name (the entity id).</summary>
public sealed class HostMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public const string TypeName = "forkline-host-tree";

    public override string? EntityId(object message) => message switch
    {
        EventBatch batch => batch.Host,
        ListLiveProcesses list => list.Host,
        GetLiveLineage lineage => lineage.Host,
        GetLiveProcesses processes => processes.Host,
        SnapshotHostTree snapshot => snapshot.Host,
        CollectorRunReport report => report.Host,
        GetHostAccounts accounts => accounts.Host,
        ReconcileHost reconcile => reconcile.Host,
        _ => null,
    };
}
