using System.Net;
using Forkline.Collecting;
using Forkline.Configuration;
using Forkline.Forwarding;
using Forkline.Gateway;
using Forkline.Gateway.Api;
using Forkline.Gateway.History;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Ingest;
using Forkline.Gateway.Storage;
using Forkline.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Forkline.Configuration.Tests;

/// <summary>Environment variables are process-wide: every test that sets one lives in this class, which runs its tests one at a time.</summary>
public sealed class NodeConfigurationTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "forkline-config-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly List<string> _variables = [];

    public NodeConfigurationTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        foreach (var variable in _variables) Environment.SetEnvironmentVariable(variable, null);
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void The_environment_overrides_the_file_and_the_command_line_overrides_both()
    {
        var file = Write("""{ "Cluster": { "Port": 5000, "Hostname": "10.0.0.1" }, "HostTree": { "SnapshotEvery": 10 } }""");
        SetVariable("FORKLINE__CLUSTER__PORT", "6000");
        SetVariable("FORKLINE__HOSTTREE__SNAPSHOTEVERY", "20");

        var settings = NodeConfiguration.Load(file, [new("HostTree:SnapshotEvery", "30")]).ToGatewaySettings();

        Assert.Equal(("10.0.0.1", 6000, 30), (settings.Cluster.Hostname, settings.Cluster.Port, settings.HostTree.SnapshotEvery));
    }

    [Fact]
    public void Run_reads_the_file_the_environment_and_its_options_into_a_gateway_that_collects()
    {
        var file = Write("""{ "HostTree": { "SnapshotEvery": 10 }, "Forwarder": { "BatchSize": 32 } }""");
        SetVariable("FORKLINE__FORWARDER__BATCHSIZE", "64");
        SetVariable("FORKLINE__PROJECTION__GROUPEVENTS", "100");

        var config = NodeConfiguration.Load(file, [new("Cluster:Port", "0"), new("DataDirectory", "run-data")]);
        var run = config.ToRunSettings();

        Assert.Equal((true, null, 0, "run-data"), (run.Collector, run.Ingest, run.Cluster.Port, run.DataDirectory));
        Assert.Equal((10, 100), (run.HostTree.SnapshotEvery, run.Projection.GroupEvents));
        Assert.Equal(new ForwarderSettings { BatchSize = 64 }, run.Forwarder);
        // A gateway of a fleet forwards nothing: the same tree leaves its forwarder at the defaults.
        Assert.Equal(new ForwarderSettings(), config.ToGatewaySettings().Forwarder);
        Assert.Equal(new GatewaySettings().Cluster, NodeConfiguration.Load(null, []).ToRunSettings().Cluster);
    }

    [Theory]
    [InlineData("FORKLINE__FORWARDER__ACKTIMEOUT", "-00:00:01", "Forwarder:AckTimeout '-00:00:01' is not allowed: a duration above 00:00:00")]
    [InlineData("FORKLINE__HOSTTREE__SNAPSHOTEVERY", "0", "HostTree:SnapshotEvery '0' is not allowed: 1 or more persisted events")]
    [InlineData("FORKLINE__COLLECTOR__BATCHWINDOW", "00:00:02", "Collector:BatchWindow '00:00:02' is not allowed: 00:00:00 to 00:00:01")]
    public void A_run_value_that_is_not_allowed_is_one_line_naming_the_key_the_value_and_what_is_allowed(string variable, string value, string line)
    {
        SetVariable(variable, value);

        var error = Assert.Throws<SettingOutOfRangeException>(() => NodeConfiguration.Load(null, []).ToRunSettings());

        Assert.Equal(line, error.Message);
    }

    [Fact]
    public void Run_is_a_cluster_of_its_own_that_collects_this_kernel_and_refuses_seeds_and_a_replay_in_one_line()
    {
        var seeds = Assert.Throws<ConfigurationException>(() =>
            NodeConfiguration.Load(null, [new("Cluster:Seeds:0", "akka.tcp://forkline@127.0.0.1:4053")]).ToRunSettings());
        var replay = Assert.Throws<ConfigurationException>(() =>
            NodeConfiguration.Load(null, [new("Collector:Source", "replay"), new("Collector:ReplayFile", "capture.fkl")]).ToRunSettings());

        Assert.Contains("Cluster:Seeds", seeds.Message);
        Assert.Contains("Collector:Source", replay.Message);
        Assert.DoesNotContain("\n", seeds.Message + replay.Message);
    }

    [Fact]
    public void A_key_that_is_no_setting_is_an_error_that_names_it()
    {
        var file = Write("""{ "Cluster": { "Prot": 5000 } }""");

        var error = Assert.Throws<ConfigurationException>(() => NodeConfiguration.Load(file, []));

        Assert.Contains("Prot", error.Message);
    }

    [Fact]
    public void A_value_of_the_wrong_type_is_an_error_that_names_the_key()
    {
        var error = Assert.Throws<ConfigurationException>(() => NodeConfiguration.Load(null, [new("Cluster:Port", "four")]));

        Assert.Contains("Cluster:Port", error.Message);
        var endpoint = Assert.Throws<ConfigurationException>(() => NodeConfiguration.Load(null, [new("Ingest:Listen", "gateway-1")]));
        Assert.Contains("Ingest:Listen", endpoint.Message);
        Assert.Contains("'gateway-1' is not an address:port", endpoint.Message);
    }

    [Fact]
    public void Unset_settings_keep_the_defaults_of_the_settings_records()
    {
        var settings = NodeConfiguration.Load(null, []).ToGatewaySettings();

        Assert.Equal(new ClusterSettings(), settings.Cluster);
        Assert.Equal(new HostTreeSettings(), settings.HostTree);
        Assert.Equal(new ProjectionSettings(), settings.Projection);
        Assert.Equal(new DatabaseSettings(), settings.Database);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, IngestSettings.DefaultPort), settings.Ingest!.Listen);
        var collector = NodeConfiguration.Load(null, [new("Collector:Gateways:0", "127.0.0.1:7072")]).ToCollectorNodeSettings();
        Assert.Equal(new ForwarderSettings(), collector.Forwarder);
        Assert.Equal([new Uri("http://127.0.0.1:7072")], collector.Link.Gateways);
    }

    [Fact]
    public void A_collector_node_gathers_200_ms_in_its_ring_and_sends_at_once_unless_its_file_or_options_say_otherwise()
    {
        KeyValuePair<string, string?>[] gateways = [new("Collector:Gateways:0", "127.0.0.1:7072")];
        var node = NodeConfiguration.Load(null, gateways, NodeConfiguration.CollectorNodeDefaults);
        Assert.Equal(TimeSpan.FromMilliseconds(200), node.Collector.BatchWindow);
        Assert.Equal(TimeSpan.Zero, node.ToCollectorNodeSettings().Forwarder.Linger);

        var file = Write("""{ "Collector": { "BatchWindow": "00:00:00.050" } }""");
        var fromFile = NodeConfiguration.Load(file, [.. gateways, new("Forwarder:Linger", "00:00:00.100")], NodeConfiguration.CollectorNodeDefaults);
        Assert.Equal(TimeSpan.FromMilliseconds(50), fromFile.Collector.BatchWindow);
        Assert.Equal(TimeSpan.FromMilliseconds(100), fromFile.ToCollectorNodeSettings().Forwarder.Linger);

        // The other roles keep the settings records' defaults: run and collector print, and users watch that latency.
        Assert.Equal(new CollectorSettings().BatchWindow, NodeConfiguration.Load(null, []).Collector.BatchWindow);
        Assert.Equal(TimeSpan.FromMilliseconds(50), new CollectorSettings().BatchWindow);
    }

    [Fact]
    public void Forwarder_settings_bind_by_their_one_name_and_keep_the_defaults_of_those_not_given()
    {
        var collector = NodeConfiguration.Load(null,
        [
            new("Collector:Gateways:0", "127.0.0.1:7072"), new("Forwarder:FlushInterval", "00:00:00.200"), new("Forwarder:BatchSize", "64"),
        ]).ToCollectorNodeSettings();

        var defaults = new ForwarderSettings();
        Assert.Equal(defaults with { FlushInterval = TimeSpan.FromMilliseconds(200), BatchSize = 64 }, collector.Forwarder);
    }

    [Fact]
    public void Projection_settings_bind_by_their_one_name_and_keep_the_defaults_of_those_not_given()
    {
        var settings = NodeConfiguration.Load(null, [new("Projection:GroupEvents", "512"), new("Projection:MaxBackoff", "00:01:00")]).ToGatewaySettings();

        Assert.Equal(new ProjectionSettings { GroupEvents = 512, MaxBackoff = TimeSpan.FromMinutes(1) }, settings.Projection);
    }

    [Fact]
    public void A_forwarder_value_that_is_not_allowed_is_one_line_naming_the_key_the_value_and_what_is_allowed()
    {
        var error = Assert.Throws<SettingOutOfRangeException>(() => NodeConfiguration.Load(null,
            [new("Collector:Gateways:0", "127.0.0.1:7072"), new("Forwarder:AckTimeout", "00:00:00")]).ToCollectorNodeSettings());

        Assert.Equal("Forwarder:AckTimeout '00:00:00' is not allowed: a duration above 00:00:00", error.Message);
    }

    [Theory]
    [InlineData("Cluster:Port", "70000", "a TCP port 0..65535 (0 = any free port)")]
    [InlineData("Cluster:Shards", "0", "1 or more shards")]
    [InlineData("Cluster:DownUnreachableAfter", "00:00:00", "00:00:01 or more (below that a busy node is downed for a pause)")]
    [InlineData("Cluster:DownRemovalMargin", "00:00:00", "a duration above 00:00:00")]
    [InlineData("Cluster:LogLevel", "LOUD", "DEBUG, INFO, WARNING or ERROR")]
    [InlineData("Cluster:LeaseTimeout", "00:00:01", "00:00:04 or more (the holder renews it every quarter of it)")]
    [InlineData("Cluster:Kubernetes:RequiredContactPoints", "0", "1 or more gateway pods")]
    [InlineData("HostTree:SnapshotEvery", "0", "1 or more persisted events")]
    [InlineData("HostTree:RetiredCapacity", "0", "1 or more retired events")]
    [InlineData("Projection:GroupEvents", "0", "1 or more events")]
    [InlineData("Projection:MinBackoff", "00:00:00", "a duration above 00:00:00")]
    [InlineData("Projection:MaxBackoff", "00:00:00.5000000", "MinBackoff (00:00:01) or longer")]
    public void A_gateway_value_that_is_not_allowed_is_one_line_naming_the_key_the_value_and_what_is_allowed(string key, string value, string allowed)
    {
        var given = new List<KeyValuePair<string, string?>> { new(key, value) };
        if (key.StartsWith("Cluster:Kubernetes:", StringComparison.Ordinal)) given.Add(new("Cluster:Bootstrap", "kubernetes"));

        var error = Assert.Throws<SettingOutOfRangeException>(() => NodeConfiguration.Load(null, given).ToGatewaySettings());

        Assert.Equal($"{key} '{value}' is not allowed: {allowed}", error.Message);
    }

    [Theory]
    [InlineData("Api:Limits:Concurrent", "0", "1 or more queries")]
    [InlineData("Api:Limits:Queued", "-1", "0 or more queries (0 = refuse when all slots are busy)")]
    [InlineData("Api:Limits:BulkConcurrent", "0", "1 or more queries")]
    [InlineData("Api:Limits:BulkQueued", "-1", "0 or more queries (0 = refuse when all slots are busy)")]
    [InlineData("Api:Limits:QueueWait", "-00:00:01", "00:00:00 or more (00:00:00 = refuse unless a slot is free)")]
    [InlineData("Api:Limits:Deadline", "00:00:00", "a duration above 00:00:00")]
    [InlineData("Api:Limits:RetryAfter", "00:00:00", "00:00:01 or more (HTTP's Retry-After counts whole seconds)")]
    [InlineData("Api:Limits:StreamBacklog", "0", "1 or more events")]
    [InlineData("Api:Limits:StreamBacklogBytes", "0", "1 or more bytes")]
    [InlineData("Api:Http", "", "an address:port, e.g. 127.0.0.1:7070 or 0.0.0.0:7070")]
    public void An_api_value_that_is_not_allowed_is_one_line_naming_the_key_the_value_and_what_is_allowed(string key, string value, string allowed)
    {
        var error = Assert.Throws<SettingOutOfRangeException>(() => NodeConfiguration.Load(null, [new(key, value)]).ToApiSettings());

        Assert.Equal($"{key} '{value}' is not allowed: {allowed}", error.Message);
    }

    [Fact]
    public void The_api_limits_are_read_into_the_limits_the_server_admits_queries_by()
    {
        var api = NodeConfiguration.Load(null,
        [
            new("Api:Limits:Concurrent", "3"), new("Api:Limits:Queued", "0"), new("Api:Limits:BulkConcurrent", "1"), new("Api:Limits:BulkQueued", "4"),
            new("Api:Limits:QueueWait", "00:00:00.200"), new("Api:Limits:Deadline", "00:00:30"), new("Api:Limits:RetryAfter", "00:00:02"),
            new("Api:Limits:StreamBacklog", "500"), new("Api:Limits:StreamBacklogBytes", "1048576"),
        ]).ToApiSettings();

        Assert.Equal(new QueryLimits
        {
            Concurrent = 3, Queued = 0, BulkConcurrent = 1, BulkQueued = 4, QueueWait = TimeSpan.FromMilliseconds(200),
            Deadline = TimeSpan.FromSeconds(30), RetryAfter = TimeSpan.FromSeconds(2), StreamBacklog = 500, StreamBacklogBytes = 1_048_576,
        }, api.Limits);
    }

    [Theory]
    [InlineData("Collector:BatchWindow", "00:00:02", "00:00:00 to 00:00:01")]
    [InlineData("Collector:AncestorDepth", "-1", "0 or more ancestors")]
    public void A_collector_value_that_is_not_allowed_is_one_line_naming_the_key_the_value_and_what_is_allowed(string key, string value, string allowed)
    {
        var error = Assert.Throws<SettingOutOfRangeException>(() =>
            NodeConfiguration.Load(null, [new("Collector:Gateways:0", "127.0.0.1:7072"), new(key, value)]).ToCollectorNodeSettings());

        Assert.Equal($"{key} '{value}' is not allowed: {allowed}", error.Message);
    }

    [Fact]
    public void The_collector_section_is_read_by_the_parts_it_configures()
    {
        var config = NodeConfiguration.Load(null,
        [
            new("Node:Name", "web-17"), new("Collector:AncestorDepth", "3"), new("Collector:EmitClones", "false"),
            new("Collector:Source", "Replay"), new("Collector:ReplayFile", "capture.fkl"), new("Collector:ReplayPacing", "asfastaspossible"),
            new("Metrics:Listen", "127.0.0.1:9100"), new("Collector:PodAnnotations", "true"),
        ]);

        var actors = config.Collector.ProcessActors(config.Node.Name, NullLoggerFactory.Instance);
        Assert.Equal(("web-17", 3, false), (actors.NodeName, actors.AncestorDepth, actors.EmitClones));
        Assert.Equal((Collecting.CollectorSource.Replay, Collector.Sources.ReplayPacing.AsFastAsPossible),
            (config.Collector.Source, config.Collector.ReplayPacing));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9100), config.Metrics.Listen);
        Assert.Null(NodeConfiguration.Load(null, []).Metrics.Listen);
        Assert.Equal((true, false), (config.Collector.PodAnnotations, NodeConfiguration.Load(null, []).Collector.PodAnnotations));
        var noFile = Assert.Throws<ArgumentException>(() => NodeConfiguration.Load(null, [new("Collector:Source", "replay")]).ToCollectorNodeSettings());
        Assert.Contains("Collector:ReplayFile", noFile.Message);
        var badSource = Assert.Throws<ConfigurationException>(() => NodeConfiguration.Load(null, [new("Collector:Source", "ebpf")]));
        Assert.Contains("Collector:Source", badSource.Message);
    }

    [Fact]
    public void User_names_are_off_by_default_and_unix_gives_the_process_actors_a_lookup_of_this_hosts_users()
    {
        var off = NodeConfiguration.Load(null, []);
        var unix = NodeConfiguration.Load(null, [new("Collector:UsernameMetadata", "unix")]);

        Assert.Equal(Collecting.UsernameMetadata.Disabled, off.Collector.UsernameMetadata);
        Assert.Null(off.Collector.ProcessActors("web-17", NullLoggerFactory.Instance).UserNames);
        Assert.Equal(Collecting.UsernameMetadata.Unix, unix.Collector.UsernameMetadata);
        Assert.NotNull(unix.Collector.ProcessActors("web-17", NullLoggerFactory.Instance).UserNames);
        var unknown = Assert.Throws<ConfigurationException>(() => NodeConfiguration.Load(null, [new("Collector:UsernameMetadata", "ldap")]));
        Assert.Contains("Collector:UsernameMetadata", unknown.Message);
        var number = Assert.ThrowsAny<ArgumentOutOfRangeException>(() => NodeConfiguration.Load(null, [new("Collector:UsernameMetadata", "7")]).ToCollectorNodeSettings());
        Assert.Contains("Collector:UsernameMetadata", number.Message);
    }

    [Fact]
    public void Splits_are_resolved_by_a_lease_on_PostgreSQL_and_by_keep_majority_on_SQLite_unless_chosen_and_a_lease_needs_PostgreSQL()
    {
        KeyValuePair<string, string?>[] postgres = [new("Database:Provider", "postgresql"), new("Database:ConnectionString", "Host=db;Database=forkline")];

        Assert.Equal(SplitBrainStrategy.LeaseMajority, NodeConfiguration.Load(null, postgres).ToGatewaySettings().SplitBrainResolver);
        Assert.Equal(SplitBrainStrategy.KeepMajority, NodeConfiguration.Load(null, []).ToGatewaySettings().SplitBrainResolver);
        Assert.Equal(SplitBrainStrategy.KeepMajority,
            NodeConfiguration.Load(null, [.. postgres, new("Cluster:SplitBrainResolver", "keep-majority")]).ToGatewaySettings().SplitBrainResolver);
        var sqliteLease = Assert.Throws<ArgumentException>(() =>
            NodeConfiguration.Load(null, [new("Cluster:SplitBrainResolver", "lease-majority")]).ToGatewaySettings());
        Assert.Contains("Cluster:SplitBrainResolver lease-majority", sqliteLease.Message);
        var unknown = Assert.Throws<ConfigurationException>(() => NodeConfiguration.Load(null, [new("Cluster:SplitBrainResolver", "majority")]));
        Assert.Contains("'majority' is not a split-brain resolver: use lease-majority or keep-majority", unknown.Message);
    }

    [Fact]
    public void A_collector_node_is_no_cluster_member_and_refuses_cluster_seeds_in_one_line()
    {
        var error = Assert.Throws<ConfigurationException>(() =>
            NodeConfiguration.Load(null, [new("Cluster:Seeds:0", "akka.tcp://forkline@127.0.0.1:4053"), new("Collector:Gateways:0", "127.0.0.1:7072")])
                .ToCollectorNodeSettings());
        var logLevelOnly = NodeConfiguration.Load(null, [new("Cluster:LogLevel", "ERROR"), new("Collector:Gateways:0", "127.0.0.1:7072")]).ToCollectorNodeSettings();
        Assert.Equal("ERROR", logLevelOnly.LogLevel);
        Assert.Contains("Collector:Gateways", error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    [Fact]
    public void Gateway_addresses_are_host_and_port_and_their_scheme_follows_the_fleet_CA()
    {
        var noPort = Assert.Throws<ConfigurationException>(() =>
            NodeConfiguration.Load(null, [new("Collector:Gateways:0", "gateway-1")]).ToCollectorNodeSettings());
        Assert.Contains("host:port", noPort.Message);
        var clearHttps = Assert.Throws<ConfigurationException>(() =>
            NodeConfiguration.Load(null, [new("Collector:Gateways:0", "https://gateway-1:7072")]).ToCollectorNodeSettings());
        Assert.Contains("Collector:Tls:Authority", clearHttps.Message);
        var none = NodeConfiguration.Load(null, []).ToCollectorNodeSettings();
        Assert.Contains("Collector:Gateways", Assert.Throws<ArgumentException>(none.Validate).Message);
    }

    [Fact]
    public void An_ingest_listener_beyond_loopback_must_identify_its_collectors()
    {
        var open = NodeConfiguration.Load(null, [new("Ingest:Listen", "0.0.0.0:7072")]);
        Assert.Contains("Ingest:HostTokens", Assert.Throws<ArgumentException>(open.ToGatewaySettings).Message);
        var withTokens = NodeConfiguration.Load(null, [new("Ingest:Listen", "0.0.0.0:7072"), new("Ingest:HostTokens:web-17", "0123456789abcdef0123")]).ToGatewaySettings();
        withTokens.Validate();
        Assert.Equal("0123456789abcdef0123", withTokens.Ingest!.HostTokens["web-17"]);
        var shortToken = NodeConfiguration.Load(null, [new("Ingest:HostTokens:web-17", "short")]);
        Assert.Contains("shorter than 16", Assert.Throws<ArgumentException>(shortToken.ToGatewaySettings).Message);
    }

    [Fact]
    public void An_api_on_loopback_may_be_open_but_beyond_it_needs_tokens_and_tls()
    {
        var local = NodeConfiguration.Load(null, []).ToApiSettings();
        Assert.Same(ApiAccessPolicy.AllowAll, local.AccessPolicy);
        Assert.True(IPAddress.IsLoopback(local.HttpEndpoint.Address));

        var open = Assert.Throws<ArgumentException>(() => NodeConfiguration.Load(null, [new("Api:Http", "0.0.0.0:7070")]).ToApiSettings());
        Assert.Contains("without tokens", open.Message);
        var clear = Assert.Throws<ArgumentException>(() =>
            NodeConfiguration.Load(null, [new("Api:Grpc", "0.0.0.0:7071"), new("Api:ReadOnlyTokens:0", "reader")]).ToApiSettings());
        Assert.Contains("without TLS", clear.Message);

        var withTokens = NodeConfiguration.Load(null, [new("Api:ReadOnlyTokens:0", "reader"), new("Api:AdminTokens:0", "admin")]).ToApiSettings();
        Assert.IsType<BearerTokenPolicy>(withTokens.AccessPolicy);
    }

    [Fact]
    public void Postgresql_needs_a_connection_string_and_cluster_tls_needs_its_files()
    {
        var database = Assert.Throws<ArgumentException>(() =>
            NodeConfiguration.Load(null, [new("Database:Provider", "postgresql")]).ToGatewaySettings());
        Assert.Contains("Database:ConnectionString", database.Message);
        var tls = Assert.Throws<ArgumentException>(() =>
            NodeConfiguration.Load(null, [new("Cluster:Tls:Enabled", "true")]).ToGatewaySettings());
        Assert.Contains("Cluster:Tls:Certificate", tls.Message);
        var postgres = NodeConfiguration.Load(null, [new("Database:Provider", "postgres"), new("Database:ConnectionString", "Host=db")]).ToGatewaySettings();
        Assert.Equal(DatabaseProvider.PostgreSql, postgres.Database.Provider);
        var unknown = Assert.Throws<ConfigurationException>(() => NodeConfiguration.Load(null, [new("Database:Provider", "oracle")]));
        Assert.Contains("Database:Provider", unknown.Message);
        Assert.Contains("use sqlite or postgresql", unknown.Message);
    }

    [Fact]
    public void The_example_gateway_settings_load()
    {
        var settings = NodeConfiguration.Load(ExampleFile("gateway.json"), []).ToGatewaySettings();

        Assert.True(settings.Cluster.Tls.Enabled);
        Assert.Equal(2, settings.Cluster.Seeds.Length);
        settings.Validate();
    }

    [Fact]
    public void The_example_collector_settings_load_and_read_the_certificate_they_name()
    {
        var config = NodeConfiguration.Load(ExampleFile("collector.json"), []);

        Assert.Equal(2, config.Collector.Gateways!.Length);
        // This machine has no /etc/forkline/tls: the error names the file, so the settings were read through to it.
        var missing = Assert.Throws<InvalidOperationException>(() => config.ToCollectorNodeSettings());
        Assert.Contains(config.Collector.Tls.Certificate!, missing.Message);
    }

    private static FileInfo ExampleFile(string name) => new(Path.Combine(AppContext.BaseDirectory, "deploy-config", name));

    private FileInfo Write(string json)
    {
        var path = Path.Combine(_folder, Guid.NewGuid().ToString("N")[..8] + ".json");
        File.WriteAllText(path, json);
        return new FileInfo(path);
    }

    private void SetVariable(string name, string value)
    {
        _variables.Add(name);
        Environment.SetEnvironmentVariable(name, value);
    }
}
