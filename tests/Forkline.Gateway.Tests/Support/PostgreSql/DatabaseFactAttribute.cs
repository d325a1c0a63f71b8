using Xunit.Abstractions;
using Xunit.Sdk;

namespace Forkline.Gateway.Tests.Support.PostgreSql;

/// <summary>
/// A fact of a test base class that runs once per database: in the SQLite subclass always, in the
/// subclass of the <see cref="PostgreSqlCollection"/> only where a PostgreSQL server can be started
/// (skipped with the reason otherwise). The attribute sits on the shared method, so whether it skips
/// is decided per concrete class at discovery.
/// </summary>
[XunitTestCaseDiscoverer("Forkline.Gateway.Tests.Support.PostgreSql.DatabaseFactDiscoverer", "Forkline.Gateway.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class DatabaseFactAttribute : FactAttribute;

/// <summary>The theory form of <see cref="DatabaseFactAttribute"/>.</summary>
[XunitTestCaseDiscoverer("Forkline.Gateway.Tests.Support.PostgreSql.DatabaseTheoryDiscoverer", "Forkline.Gateway.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class DatabaseTheoryAttribute : TheoryAttribute;

public sealed class DatabaseFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        new DatabaseTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
}

public sealed class DatabaseTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute) =>
        DatabaseTestCase.SkipReasonFor(testMethod.TestClass) is null
            ? base.Discover(discoveryOptions, testMethod, theoryAttribute)
            : [new DatabaseTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod)];
}

/// <summary>
/// Skipped when its class belongs to the PostgreSQL collection and no server can run here. The reason
/// is worked out again after the runner de-serializes the case, so it needs no state of its own.
/// </summary>
public sealed class DatabaseTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public DatabaseTestCase()
    {
    }

    public DatabaseTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay display, TestMethodDisplayOptions displayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, display, displayOptions, testMethod)
    {
    }

    public static string? SkipReasonFor(ITestClass testClass) =>
        testClass.TestCollection.CollectionDefinition?.Name == typeof(PostgreSqlCollection).FullName && PostgresServer.Unavailable is { } problem
            ? "needs PostgreSQL: " + problem
            : null;

    // xunit declares the reason non-null, yet null is how it reads "not skipped".
    protected override string GetSkipReason(IAttributeInfo factAttribute) =>
        base.GetSkipReason(factAttribute) ?? SkipReasonFor(TestMethod.TestClass)!;
}
