using System.Security.Cryptography.X509Certificates;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;

namespace Forkline.Cluster.Tests;

public sealed class ClusterTlsTests : IDisposable
{
    private static readonly TimeSpan RefusalWindow = TimeSpan.FromSeconds(10);
    private readonly TestCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    [Fact]
    public async Task A_collector_with_a_fleet_certificate_streams_over_mutual_TLS_while_a_self_signed_one_is_refused_and_counted()
    {
        await using var fleet = new Fleet();
        var gateway = await fleet.StartGatewayAsync(tls: _certificates.IssuedFor("gateway-1", FleetRoles.Gateway));
        var trusted = await StartCollectorAsync(fleet, gateway, _certificates.IssuedFor("host-tls", FleetRoles.Collector));
        var rogue = await StartCollectorAsync(fleet, gateway, _certificates.SelfSignedFor("host-rogue", FleetRoles.Collector));

        var host = new SyntheticHost("host-tls");
        var (events, _, _, _, _) = host.ShellChain(100);
        Assert.True(await DeliverAsync(trusted, events, TestNodes.Patience), "the gateway acknowledges the trusted collector's events over TLS");
        var stored = await gateway.Queries.ReplayAsync("host-tls", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync();
        Assert.Equal(events.Select(WireConverter.EventIdOf), stored.Select(WireConverter.EventIdOf));

        var (rogueEvents, _, _, _, _) = new SyntheticHost("host-rogue").ShellChain(100);
        Assert.False(await DeliverAsync(rogue, rogueEvents, RefusalWindow), "a self-signed collector delivers nothing");
        Assert.True(gateway.MetricsExport.Value("forkline_ingest_refused_total", "untrusted_certificate") > 0, "the refused handshakes are counted");
        Assert.Empty(await gateway.Queries.ReplayAsync("host-rogue", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync());
    }

    [Fact]
    public async Task A_collector_reporting_for_a_host_its_certificate_does_not_name_is_refused_and_counted()
    {
        await using var fleet = new Fleet();
        var gateway = await fleet.StartGatewayAsync(tls: _certificates.IssuedFor("gateway-1", FleetRoles.Gateway));
        var impostor = await StartCollectorAsync(fleet, gateway, _certificates.IssuedFor("host-own", FleetRoles.Collector));

        var (events, _, _, _, _) = new SyntheticHost("host-other").ShellChain(100);
        Assert.False(await DeliverAsync(impostor, events, RefusalWindow), "nothing of another host is acknowledged");
        Assert.True(gateway.MetricsExport.Value("forkline_ingest_refused_total", "other_host") > 0, "the claim is counted");
        Assert.True(impostor.MetricsExport.Value("forkline_forward_link_changes_total", "refused") > 0, "the collector sees its streams refused");
        Assert.Empty(await gateway.Queries.ReplayAsync("host-other", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync());
    }

    [Fact]
    public async Task A_bearer_token_lets_a_collector_report_for_its_own_host_only()
    {
        await using var fleet = new Fleet();
        const string token = "token-of-host-t-0123456789abcdef";
        var gateway = await fleet.StartGatewayAsync(hostTokens: new Dictionary<string, string> { ["host-t"] = token });
        var own = await fleet.StartCollectorAsync([gateway.Ingest!.Address], link: link => link with { Token = token });
        var other = await fleet.StartCollectorAsync([gateway.Ingest!.Address], link: link => link with { Token = token });
        var unknown = await fleet.StartCollectorAsync([gateway.Ingest!.Address], link: link => link with { Token = "not-a-token-of-this-fleet-at-all" });
        var anonymous = await fleet.StartCollectorAsync(gateway);

        var (events, _, _, _, _) = new SyntheticHost("host-t").ShellChain(100);
        Assert.True(await DeliverAsync(own, events, TestNodes.Patience), "the token's own host is acknowledged");
        var (otherEvents, _, _, _, _) = new SyntheticHost("host-u").ShellChain(100);
        Assert.False(await DeliverAsync(other, otherEvents, RefusalWindow), "another host is not");
        Assert.False(await DeliverAsync(unknown, events, TimeSpan.FromSeconds(1)), "an unknown token delivers nothing");
        Assert.False(await DeliverAsync(anonymous, events, TimeSpan.FromSeconds(1)), "no identity delivers nothing");

        Assert.True(gateway.MetricsExport.Value("forkline_ingest_refused_total", "other_host") > 0);
        Assert.True(gateway.MetricsExport.Value("forkline_ingest_refused_total", "unknown_token") > 0);
        Assert.True(gateway.MetricsExport.Value("forkline_ingest_refused_total", "no_identity") > 0);
        Assert.Empty(await gateway.Queries.ReplayAsync("host-u", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync());
    }

    [Fact]
    public async Task A_certificate_issued_for_a_collector_cannot_start_a_gateway()
    {
        using var data = new TestDatabase();
        var gateway = TestNodes.Settings(data, collector: false);
        var settings = gateway with { Cluster = gateway.Cluster with { Tls = _certificates.IssuedFor("collector-1", FleetRoles.Collector) } };

        var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => GatewayNode.StartAsync(settings));
        Assert.Contains("OU=gateway", refusal.Message);
    }

    [Fact]
    public void Only_certificates_issued_by_the_fleet_CA_with_a_Forkline_role_are_accepted()
    {
        using var other = new TestCertificates();
        var fleet = new FleetCertificates(
            Load(_certificates.AuthorityPath), new HashSet<string> { FleetRoles.Gateway, FleetRoles.Collector });

        Assert.Null(fleet.Refusal(LoadNode(_certificates.IssuedFor("gateway-1", FleetRoles.Gateway))));
        Assert.Contains("not issued by the fleet CA", fleet.Refusal(LoadNode(_certificates.SelfSignedFor("rogue", FleetRoles.Gateway))));
        Assert.Contains("not issued by the fleet CA", fleet.Refusal(LoadNode(other.IssuedFor("foreign", FleetRoles.Gateway))));
        Assert.Contains("names no Forkline role", fleet.Refusal(LoadNode(_certificates.IssuedFor("printer", "printers"))));
        Assert.Contains("no certificate", fleet.Refusal(null));
    }

    private static Task<CollectorNode> StartCollectorAsync(Fleet fleet, GatewayNode gateway, ClusterTlsSettings certificate)
    {
        var (own, authority) = certificate.Load();
        return fleet.StartCollectorAsync([gateway.Ingest!.Address], link: link => link with { Certificate = own, Authority = authority });
    }

    private static async Task<bool> DeliverAsync(CollectorNode collector, IEnumerable<EnrichedEvent> events, TimeSpan within)
    {
        foreach (var enriched in events) collector.Forwarder.OnEnriched(enriched);
        collector.Forwarder.OnBatchEnd();
        return await collector.Forwarder.FlushAsync(within);
    }

    private static X509Certificate2 Load(string pem) =>
        X509CertificateLoader.LoadCertificateFromFile(pem);

    private static X509Certificate2 LoadNode(ClusterTlsSettings tls) =>
        X509CertificateLoader.LoadPkcs12FromFile(tls.Certificate, tls.Password);
}
