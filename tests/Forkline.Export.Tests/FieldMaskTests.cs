using Forkline.Export;
using static Forkline.Export.Tests.ExportAssert;
using static Forkline.Export.Tests.SampleEvents;

namespace Forkline.Export.Tests;

public sealed class FieldMaskTests
{
    [Fact]
    public void Including_a_process_field_writes_only_that_field_and_no_parent_or_ancestors()
    {
        var mask = FieldMask.From(FieldSelection.Include("process.binary"));

        var exec = Json(Exec(), mask).GetProperty("process_exec");

        Assert.Equal(["process"], PropertyNames(exec));
        Assert.Equal(["binary"], PropertyNames(exec.GetProperty("process")));
    }

    [Fact]
    public void Including_a_bare_field_applies_to_process_parent_and_ancestors()
    {
        var mask = FieldMask.From(FieldSelection.Include("exec_id", "pid"));

        var exec = Json(Exec(), mask).GetProperty("process_exec");

        Assert.Equal(["exec_id", "pid"], PropertyNames(exec.GetProperty("process")));
        Assert.Equal(["exec_id", "pid"], PropertyNames(exec.GetProperty("parent")));
        Assert.Equal(["exec_id", "pid"], PropertyNames(exec.GetProperty("ancestors")[0]));
    }

    [Fact]
    public void Including_a_role_writes_that_whole_object()
    {
        var mask = FieldMask.From(FieldSelection.Include("parent", "process.pid"));

        var exec = Json(Exec(), mask).GetProperty("process_exec");

        Assert.Equal(["process", "parent"], PropertyNames(exec));
        Assert.Equal(14, PropertyNames(exec.GetProperty("parent")).Length);
    }

    [Fact]
    public void Excluding_a_role_field_drops_it_there_only_and_excluding_a_role_drops_the_object()
    {
        var mask = FieldMask.From(FieldSelection.Exclude("ancestors", "process.cap", " ns "));

        var exec = Json(Exec(), mask).GetProperty("process_exec");

        Assert.Equal(["process", "parent"], PropertyNames(exec));
        Assert.DoesNotContain("cap", PropertyNames(exec.GetProperty("process")));
        Assert.Contains("cap", PropertyNames(exec.GetProperty("parent")));
        Assert.DoesNotContain("ns", PropertyNames(exec.GetProperty("process")));
        Assert.DoesNotContain("ns", PropertyNames(exec.GetProperty("parent")));
        Assert.Contains("exec_id", PropertyNames(exec.GetProperty("process")));
    }

    [Fact]
    public void Event_fields_are_written_whatever_the_selection()
    {
        var mask = FieldMask.From(FieldSelection.Include("process.pid"));

        var root = Json(Exit(signal: 15), mask);

        Assert.Equal(["process", "signal", "status", "time"], PropertyNames(root.GetProperty("process_exit")));
        Assert.Equal("SIGTERM", root.GetProperty("process_exit").GetProperty("signal").GetString());
        Assert.Equal(Node, root.GetProperty("node_name").GetString());
    }

    [Fact]
    public void No_selection_writes_everything()
    {
        var mask = FieldMask.From(null);

        Assert.Same(FieldMask.All, mask);
    }

    [Theory]
    [InlineData("process.command", "unknown field 'command'")]
    [InlineData("child.pid", "'child' is not a process role")]
    [InlineData("bin", "use one of arguments, auid, binary")]
    public void An_unknown_field_or_role_is_rejected_with_the_known_names(string field, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => FieldMask.From(FieldSelection.Include(field)));

        Assert.Contains(message, error.Message);
        Assert.Contains(field, error.Message);
    }
}
