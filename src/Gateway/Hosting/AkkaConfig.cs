using System.Globalization;
using System.Text;
using Akka.Configuration;
using Akka.Persistence.Sql;

namespace Forkline.Gateway.Hosting;

/// <summary>The HOCON of a Forkline node, built from <see cref="GatewaySettings"/>.</summary>
public static class AkkaConfig
{
    /// <summary>Room for a full batch of events with long arguments and ancestor chains.</summary>
    public const int MaximumFrameBytes = 16 * 1024 * 1024;

    public static Config For(GatewaySettings settings)
    {
        var hocon = new StringBuilder();
        hocon.AppendLine(Local(settings.LogLevel));
        hocon.AppendLine(CultureInfo.InvariantCulture, $$"""
            akka {
              actor.provider = cluster
              # Only message types bound to a serializer cross the wire or reach the journal: nothing
              # falls back to the JSON serializer's polymorphic type names.
              actor.serialization-settings.allow-unregistered-types = off
              remote.dot-netty.tcp {
                hostname = {{Quote(settings.Hostname)}}
                port = {{settings.Port}}
                # The certificate and the fleet-CA validator come with ClusterTlsSettings.CreateSetup.
                enable-ssl = {{(settings.Tls is null ? "off" : "on")}}
                # A forwarder batch is at most 64 KiB (ForwarderSettings.MaxBatchBytes) unless one event
                # is larger (a long argv, a deep ancestor chain) and travels alone: past the 128 KB
                # default, Akka.Remote would discard it and the forwarder resend it forever.
                maximum-frame-size = {{MaximumFrameBytes}}b
              }
              cluster {
                roles = [{{string.Join(", ", settings.Roles.Select(Quote))}}]
                seed-nodes = [{{string.Join(", ", settings.Seeds.Select(Quote))}}]
                sharding {
                  role = {{GatewaySettings.GatewayRole}}
                  state-store-mode = ddata
                  remember-entities = off
                  distributed-data.durable.keys = []
                  # The coordinator reads and writes its state directly; nothing waits on change
                  # notifications, so they need not be flushed twice a second (an idle node's wakeups).
                  distributed-data.notify-subscribers-interval = 2s
                }
                pub-sub {
                  role = {{GatewaySettings.GatewayRole}}
                  send-to-dead-letters-when-no-subscribers = off
                  # Idle cost: each periodic tick wakes the scheduler and a pool thread. Subscriptions
                  # (a gateway's live-event hub, once at its start) spread within 2 s instead of 1 s.
                  gossip-interval = 2s
                }
              }
            }
            """);
        if (settings.DownUnreachableAfter is { } downAfter)
            hocon.AppendLine(CultureInfo.InvariantCulture, $"akka.cluster.split-brain-resolver.stable-after = {(int)downAfter.TotalMilliseconds}ms");
        hocon.AppendLine(Persistence(settings));
        return ConfigurationFactory.ParseString(hocon.ToString()).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    /// <summary>What every Forkline actor system runs with; a collector node's (no remoting, no cluster) is only this.</summary>
    public static string Local(string logLevel) => $$"""
        akka {
          loglevel = {{logLevel}}
          # stdout carries events only (`forkline run --json`): Akka logs through AkkaLoggerBridge to the
          # node's ILogger (stderr). Its standard-out logger still speaks before the bridge starts and after
          # it stops (the node commands point Console.Out at stderr); OFF would be cleaner, but with it the
          # persistence plugins never answered at start (Akka 1.5.75).
          stdout-loglevel = {{logLevel}}
          loggers = [{{Quote(typeof(AkkaLoggerBridge).AssemblyQualifiedName!)}}]
          # The host stops a node in order (event source, process actors, forwarder flush, then
          # the node's DisposeAsync). Akka's own exit/signal hook would stop it at once, under
          # that drain, and the forwarder would drop every event not yet acknowledged.
          coordinated-shutdown.run-by-clr-shutdown-hook = off
          # A node must cost its idle host nothing: a scheduler that sleeps until the next deadline
          # instead of waking every 10 ms (akka.scheduler.tick-duration) whether anything is due or not.
          scheduler.implementation = {{Quote(typeof(DeadlineScheduler).AssemblyQualifiedName!)}}
        }
        """;

    private static string Persistence(GatewaySettings settings)
    {
        var database = settings.EffectiveDatabase;
        var connection = Quote(database.ConnectionString);
        var provider = Quote(database.Linq2DbProviderName);
        // SQLite takes one writer at a time; more connections would only wait on its lock.
        var parallelism = database.Provider == DatabaseProvider.Sqlite ? 1 : 4;
        var refresh = (int)settings.EffectiveQueryRefreshInterval.TotalMilliseconds;
        return $$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  parallelism = {{parallelism}}
                  tag-write-mode = Csv
                  auto-initialize = on
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  auto-initialize = on
                }
              }
              query.journal.sql {
                connection-string = {{connection}}
                provider-name = {{provider}}
                write-plugin = "akka.persistence.journal.sql"
                tag-read-mode = Csv
                # The projection reads up to the newest ordering the sequence actor found: both poll at
                # the same pace, or the slower one sets the projection's lag.
                refresh-interval = {{refresh}}ms
                journal-sequence-retrieval.query-delay = {{refresh}}ms
              }
            }
            """;
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
