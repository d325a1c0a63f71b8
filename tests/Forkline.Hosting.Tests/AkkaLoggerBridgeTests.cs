using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using System.Reflection;
using Akka.Remote;
using Forkline.Testing;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Forkline.Hosting.Tests;

public sealed class AkkaLoggerBridgeTests
{
    /// <summary>
    /// When a peer gateway dies, Akka's supervisor logs its endpoint writer's failure as an error with a stack trace,
    /// beside remoting's warning of the same fact; the node's log gets one warning line for it. Other errors stay errors.
    /// </summary>
    [Fact]
    public async Task A_peer_s_disassociation_is_one_warning_line_and_other_errors_keep_their_level_and_cause()
    {
        var loggers = new CapturingLogger();
        var config = ConfigurationFactory.ParseString($"akka.loggers = [\"{typeof(AkkaLoggerBridge).AssemblyQualifiedName}\"]\nakka.loglevel = WARNING\nakka.stdout-loglevel = OFF");
        var system = ActorSystem.Create("bridge-tests", ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config), new LoggerFactorySetup(loggers)));
        try
        {
            var peerGone = typeof(RemoteSettings).Assembly.GetType(AkkaLoggerBridge.PeerGoneException, throwOnError: true)!;
            var disassociated = (Exception)Activator.CreateInstance(peerGone, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, ["Disassociated"], null)!;
            system.EventStream.Publish(new Error(disassociated, "endpointWriter", typeof(OneForOneStrategy), "Disassociated"));
            system.EventStream.Publish(new Error(new InvalidOperationException("a real fault"), "journal", typeof(AkkaLoggerBridgeTests), "write failed"));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (loggers.Entries.Count < 2 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);

            var entries = loggers.Entries;
            Assert.Equal(2, entries.Count);
            Assert.Equal(LogLevel.Warning, entries[0].Level);
            Assert.Equal("[endpointWriter] Disassociated", entries[0].Message);
            Assert.Equal(LogLevel.Error, entries[1].Level);
            Assert.Contains("a real fault", entries[1].Message);
        }
        finally
        {
            await system.Terminate();
        }
    }
}
