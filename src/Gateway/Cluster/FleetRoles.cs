namespace Forkline.Gateway.Cluster;

/// <summary>
/// The roles a Forkline node takes: the cluster role its members carry, and the names a fleet
/// certificate gives as an OU of its subject (<see cref="FleetCertificates"/>).
/// </summary>
public static class FleetRoles
{
    public const string Gateway = "gateway";
    public const string Collector = "collector";
}
