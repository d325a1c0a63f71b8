using System.Globalization;
using System.Text;
using Akka.Configuration;
using Akka.Persistence.Sql;

namespace Forkline.Gateway.Hosting;

/// <summary>The HOCON of a Forkline node, built from <see cref="GatewaySettings"/>.</summary>
public static class AkkaConfig
{
    public static Config For(GatewaySettings settings)
    {
        var hocon = new StringBuilder();
        hocon.AppendLine(CultureInfo.InvariantCulture, $$"""
            akka {
              loglevel = {{settings.LogLevel}}
              stdout-loglevel = {{settings.LogLevel}}
              actor.provider = cluster
              remote.dot-netty.tcp {
                hostname = {{Quote(settings.Hostname)}}
                port = {{settings.Port}}
              }
              cluster {
                roles = [{{string.Join(", ", settings.Roles.Select(Quote))}}]
                seed-nodes = [{{string.Join(", ", settings.Seeds.Select(Quote))}}]
                sharding {
                  role = {{GatewaySettings.GatewayRole}}
                  state-store-mode = ddata
                  remember-entities = off
                  distributed-data.durable.keys = []
                }
                pub-sub {
                  role = {{GatewaySettings.GatewayRole}}
                  send-to-dead-letters-when-no-subscribers = off
                }
              }
            }
            """);
        if (!settings.Gateway) return ConfigurationFactory.ParseString(hocon.ToString());
        hocon.AppendLine(Persistence(settings));
        return ConfigurationFactory.ParseString(hocon.ToString()).WithFallback(SqlPersistence.DefaultConfiguration);
    }

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
                refresh-interval = {{refresh}}ms
              }
            }
            """;
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
