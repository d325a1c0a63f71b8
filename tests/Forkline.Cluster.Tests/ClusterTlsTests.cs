using System.Security.Cryptography.X509Certificates;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.Tests.Support;

namespace Forkline.Cluster.Tests;

public sealed class ClusterTlsTests : IDisposable
{
    private static readonly TimeSpan RefusalWindow = TimeSpan.FromSeconds(10);
    private readonly TestCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    [Fact]
    public async Task A_node_with_a_fleet_certificate_joins_and_delivers_over_TLS_while_a_self_signed_node_is_refused()
    {
        await using var fleet = new Fleet();
        var gateway = await fleet.StartGatewayAsync(tls: _certificates.IssuedFor("gateway-1", GatewaySettings.GatewayRole));
        var trusted = await fleet.StartCollectorAsync([gateway.SeedAddress], tls: _certificates.IssuedFor("collector-1", GatewaySettings.CollectorRole));
        var rogue = await fleet.StartCollectorAsync([gateway.SeedAddress], tls: _certificates.SelfSignedFor("collector-2", GatewaySettings.CollectorRole));

        await trusted.WaitUntilUpAsync(TestNodes.Patience);
        var host = new SyntheticHost("host-tls");
        var (events, _, _, _, _) = host.ShellChain(100);
        foreach (var enriched in events) trusted.Forwarder!.OnEnriched(enriched);
        trusted.Forwarder!.OnBatchEnd();
        Assert.True(await trusted.Forwarder!.FlushAsync(TestNodes.Patience), "the gateway acknowledges the trusted collector's events over TLS");
        var stored = await gateway.Queries!.ReplayAsync("host-tls", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync();
        Assert.Equal(events.Select(WireConverter.EventIdOf), stored.Select(WireConverter.EventIdOf));

        await Assert.ThrowsAsync<TimeoutException>(() => rogue.WaitUntilUpAsync(RefusalWindow));
        Assert.DoesNotContain(Akka.Cluster.Cluster.Get(gateway.System).State.Members, member => member.Address == rogue.Address);
    }

    [Fact]
    public async Task A_certificate_issued_for_a_collector_cannot_start_a_gateway()
    {
        using var data = new TestDatabase();
        var settings = TestNodes.Settings(data, collector: false) with { Tls = _certificates.IssuedFor("collector-1", GatewaySettings.CollectorRole) };

        var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => GatewayNode.StartAsync(settings));
        Assert.Contains("OU=gateway", refusal.Message);
    }

    [Fact]
    public void Only_certificates_issued_by_the_fleet_CA_with_a_Forkline_role_are_accepted()
    {
        using var other = new TestCertificates();
        var fleet = new FleetCertificates(
            Load(_certificates.AuthorityPath), new HashSet<string> { GatewaySettings.GatewayRole, GatewaySettings.CollectorRole });

        Assert.Null(fleet.Refusal(LoadNode(_certificates.IssuedFor("gateway-1", GatewaySettings.GatewayRole))));
        Assert.Contains("not issued by the fleet CA", fleet.Refusal(LoadNode(_certificates.SelfSignedFor("rogue", GatewaySettings.GatewayRole))));
        Assert.Contains("not issued by the fleet CA", fleet.Refusal(LoadNode(other.IssuedFor("foreign", GatewaySettings.GatewayRole))));
        Assert.Contains("names no Forkline role", fleet.Refusal(LoadNode(_certificates.IssuedFor("printer", "printers"))));
        Assert.Contains("no certificate", fleet.Refusal(null));
    }

    private static X509Certificate2 Load(string pem) =>
        X509CertificateLoader.LoadCertificateFromFile(pem);

    private static X509Certificate2 LoadNode(ClusterTlsSettings tls) =>
        X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath, tls.CertificatePassword);
}
