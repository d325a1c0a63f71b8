using Akka.Actor;

namespace Forkline.Forwarding;

/// <summary>Where a forwarder's batches and run reports go.</summary>
public abstract record ForwarderDelivery
{
    private ForwarderDelivery()
    {
    }

    /// <summary>To the host entities' shard region of the forwarder's own gateway node (<c>forkline run</c>).</summary>
    public sealed record ToHostTrees(IActorRef HostTrees) : ForwarderDelivery;

    /// <summary>Over a collector's stream to any gateway of the cluster (<c>forkline collector-node</c>).</summary>
    public sealed record OverGrpc(GatewayLinkSettings Link) : ForwarderDelivery;
}
