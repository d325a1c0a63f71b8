using System.Collections.Immutable;
using System.Text;
using Forkline.Collector.Decoding;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Tests;

public sealed class RecordRoundTripTests
{
    private readonly DecodeCounters _counters = new();
    private readonly RecordDecoder _decoder;

    public RecordRoundTripTests() => _decoder = new RecordDecoder(SampleEvents.Hooks, _counters);

    public static TheoryData<string> Kinds => ["clone", "exec", "exit", "hook"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Encoding_then_decoding_gives_back_an_equal_event(string kind)
    {
        KernelEvent original = kind switch
        {
            "clone" => SampleEvents.Clone,
            "exec" => SampleEvents.Exec,
            "exit" => SampleEvents.Exit,
            _ => SampleEvents.Hook,
        };

        EventAssert.Equal(original, _decoder.Decode(SampleEvents.Encode(original)));
        Assert.Equal(1, _counters.Decoded);
        Assert.Equal(0, _counters.TotalRejected);
    }

    [Fact]
    public void Given_the_hosts_namespaces_the_decoder_marks_those_of_execs_and_hooks_that_are_the_hosts_own()
    {
        var decoder = new RecordDecoder(SampleEvents.Hooks, new DecodeCounters(), hostNamespaces: SampleEvents.Namespaces with { Mnt = 4026532999 });

        var exec = Assert.IsType<ExecEvent>(decoder.Decode(SampleEvents.Encode(SampleEvents.Exec)));
        var hook = Assert.IsType<HookEvent>(decoder.Decode(SampleEvents.Encode(SampleEvents.Hook)));

        var allButMnt = (ushort)(0x3ff & ~(1 << (int)Export.NamespaceKind.Mnt));
        Assert.Equal(SampleEvents.Namespaces with { HostOwned = allButMnt }, exec.Namespaces);
        Assert.Equal(SampleEvents.Namespaces with { HostOwned = allButMnt }, hook.Namespaces);
        Assert.Equal(0, Assert.IsType<ExecEvent>(_decoder.Decode(SampleEvents.Encode(SampleEvents.Exec))).Namespaces.HostOwned);
    }

    [Fact]
    public void Hook_events_share_the_descriptor_of_the_loaded_policy()
    {
        var decoded = Assert.IsType<HookEvent>(_decoder.Decode(SampleEvents.Encode(SampleEvents.Hook)));

        Assert.Same(SampleEvents.Hooks[1], decoded.Hook);
        Assert.True(decoded.IsThread);
    }

    [Fact]
    public void Strings_of_exactly_the_maximum_length_come_back_whole_and_unflagged()
    {
        var filename = "/" + new string('f', FlConstants.FilenameMax - 1);
        var cwd = "/" + new string('c', FlConstants.CwdMax - 1);
        // Four arguments of 255 bytes, each with its NUL: exactly FL_ARGS_MAX bytes.
        ImmutableArray<string> arguments = [.. Enumerable.Range(0, 4).Select(i => new string((char)('a' + i), FlConstants.ArgsMax / 4 - 1))];
        var exec = SampleEvents.Exec with { Filename = filename, Cwd = cwd, Arguments = arguments, Flags = ExecFlags.None };

        var decoded = _decoder.Decode(SampleEvents.Encode(exec));

        EventAssert.Equal(exec, decoded);
    }

    [Fact]
    public void Strings_over_the_limit_are_cut_on_a_character_boundary_and_flagged()
    {
        var exec = SampleEvents.Exec with
        {
            Filename = "/" + new string('é', 200),
            Cwd = new string('d', FlConstants.CwdMax + 1),
            Arguments = ["x", new string('y', FlConstants.ArgsMax)],
            Flags = ExecFlags.None,
        };

        var decoded = Assert.IsType<ExecEvent>(_decoder.Decode(SampleEvents.Encode(exec)));

        Assert.Equal(ExecFlags.FilenameTruncated | ExecFlags.ArgsTruncated | ExecFlags.CwdTruncated, decoded.Flags);
        Assert.Equal("/" + new string('é', (FlConstants.FilenameMax - 1) / 2), decoded.Filename);
        Assert.Equal(new string('d', FlConstants.CwdMax), decoded.Cwd);
        Assert.Equal(["x", new string('y', FlConstants.ArgsMax - 2)], decoded.Arguments.AsEnumerable());
    }

    [Fact]
    public void Flags_set_by_the_kernel_survive_the_round_trip()
    {
        var flags = ExecFlags.FilenameTruncated | ExecFlags.ArgsTruncated | ExecFlags.CwdTruncated
                    | ExecFlags.ArgsUnreadable | ExecFlags.ParentUnknown | ExecFlags.Procfs;
        var exec = SampleEvents.Exec with { Flags = flags };

        Assert.Equal(flags, Assert.IsType<ExecEvent>(_decoder.Decode(SampleEvents.Encode(exec))).Flags);
    }

    [Fact]
    public void Empty_arguments_are_kept_and_no_arguments_stay_none()
    {
        var withEmpties = SampleEvents.Exec with { Arguments = ["", "a", "", ""] };
        var withNone = SampleEvents.Exec with { Arguments = [] };

        EventAssert.Equal(withEmpties, _decoder.Decode(SampleEvents.Encode(withEmpties)));
        EventAssert.Equal(withNone, _decoder.Decode(SampleEvents.Encode(withNone)));
    }

    [Fact]
    public void Invalid_UTF8_bytes_become_visible_byte_escapes_instead_of_failing()
    {
        var record = new byte[RecordEncoder.ExecRecordSize];
        var fields = new ExecRecordFields(7, 7, 1, ProcessKey.None, ProcessKey.None, default, default, default, 0, 0, ExecFlags.None);
        RecordEncoder.WriteExec(record, fields, [(byte)'/', 0xff, (byte)'a'], [0xc3, 0x28, 0, (byte)'b', 0], [0xe2, 0x82]);

        var decoded = Assert.IsType<ExecEvent>(_decoder.Decode(record));

        Assert.Equal("/\\xffa", decoded.Filename);
        Assert.Equal(["\\xc3(", "b"], decoded.Arguments.AsEnumerable());
        Assert.Equal("\\xe2\\x82", decoded.Cwd);
    }

    [Theory]
    [InlineData("./x", "/home/user", ExecFlags.None, "/home/user/x")]
    [InlineData("../bin/x", "/home/user", ExecFlags.None, "/home/bin/x")]
    [InlineData("x", "/", ExecFlags.None, "/x")]
    [InlineData("a/./b//../c", "/work", ExecFlags.None, "/work/a/c")]
    [InlineData("../../../x", "/a", ExecFlags.None, "/x")]
    [InlineData("/usr/bin/x", "/work", ExecFlags.None, "/usr/bin/x")]
    // The cwd is not known whole: the path stays as execve was given it.
    [InlineData("./x", "/deep/er", ExecFlags.CwdTruncated, "./x")]
    [InlineData("./x", "", ExecFlags.None, "./x")]
    // /proc's argv[0] or a kernel thread's name is no path execve was given.
    [InlineData("[kthreadd]", "/", ExecFlags.Procfs, "[kthreadd]")]
    public void A_relative_exec_path_is_made_absolute_with_the_cwd_as_tetragon_writes_binary(string filename, string cwd, ExecFlags flags, string expected)
    {
        var record = new byte[RecordEncoder.ExecRecordSize];
        var fields = new ExecRecordFields(7, 7, 1, ProcessKey.None, ProcessKey.None, default, default, default, 0, 0, flags);
        RecordEncoder.WriteExec(record, fields, Encoding.UTF8.GetBytes(filename), "x\0"u8, Encoding.UTF8.GetBytes(cwd));

        var decoded = Assert.IsType<ExecEvent>(_decoder.Decode(record));

        Assert.Equal(expected, decoded.Filename);
        Assert.Equal(cwd, decoded.Cwd);
    }

    [Fact]
    public void A_last_argument_without_its_NUL_is_kept_as_far_as_it_goes()
    {
        var record = new byte[RecordEncoder.ExecRecordSize];
        var fields = new ExecRecordFields(7, 7, 1, ProcessKey.None, ProcessKey.None, default, default, default, 0, 0, ExecFlags.ArgsTruncated);
        RecordEncoder.WriteExec(record, fields, "/bin/echo"u8, "echo\0hel"u8, "/"u8);

        var decoded = Assert.IsType<ExecEvent>(_decoder.Decode(record));

        Assert.Equal(["echo", "hel"], decoded.Arguments.AsEnumerable());
    }

    [Fact]
    public void Raw_bytes_longer_than_a_buffer_are_cut_and_flagged()
    {
        var record = new byte[RecordEncoder.ExecRecordSize];
        var fields = new ExecRecordFields(7, 7, 1, ProcessKey.None, ProcessKey.None, default, default, default, 0, 0, ExecFlags.Procfs);
        var longArguments = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("argument\0", 200)));
        RecordEncoder.WriteExec(record, fields, "/bin/x"u8, longArguments, "/"u8);

        var decoded = Assert.IsType<ExecEvent>(_decoder.Decode(record));

        Assert.Equal(ExecFlags.Procfs | ExecFlags.ArgsTruncated, decoded.Flags);
        Assert.Equal(FlConstants.ArgsMax / 9 + 1, decoded.Arguments.Length);
        Assert.Equal("argumen", decoded.Arguments[^1]);
    }

    [Fact]
    public void Encoding_into_a_used_buffer_leaves_no_stale_bytes()
    {
        var buffer = new byte[RecordEncoder.MaxRecordSize];
        Array.Fill(buffer, (byte)0xAA);
        var length = RecordEncoder.WriteExec(buffer, SampleEvents.Exec);

        Assert.Equal(SampleEvents.Encode(SampleEvents.Exec), buffer[..length]);
    }

    [Fact]
    public void Encoding_into_a_too_small_buffer_says_how_much_is_needed()
    {
        var error = Assert.Throws<ArgumentException>(() => RecordEncoder.WriteHook(new byte[16], SampleEvents.Hook));

        Assert.Contains($"needs {RecordEncoder.HookRecordSize} bytes but the destination has 16", error.Message);
    }
}
