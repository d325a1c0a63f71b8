using Forkline.Collector.Users;
using Forkline.Testing;

namespace Forkline.Collector.Tests;

public sealed class HostUserNamesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("forkline-passwd-").FullName;
    private readonly ManualClock _clock = new();

    private string PasswdPath => Path.Combine(_directory, "passwd");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Entries_are_read_and_comments_blank_lines_and_nis_markers_are_skipped_without_counting()
    {
        var file = PasswdFile.Parse(
            "# the system's accounts\n" +
            "root:x:0:0:root:/root:/bin/bash\r\n" +
            "\n" +
            "   # indented comment\n" +
            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
            "+@netgroup::::::\n" +
            "-excluded::::::\n" +
            "alice:x:1000:1000:Alice \"A\" Liddell,,,:/home/alice:/bin/zsh\n");

        Assert.Equal(["0=root", "1=daemon", "1000=alice"], Entries(file));
        Assert.Equal((0, 0), (file.MalformedLines, file.FirstMalformedLine));
    }

    [Fact]
    public void Malformed_lines_are_skipped_and_counted_with_the_first_ones_number()
    {
        var file = PasswdFile.Parse(
            "root:x:0:0:root:/root:/bin/bash\n" +
            "short:x:1001\n" +                              // too few fields
            "nouid:x:abc:1002::/home/nouid:/bin/sh\n" +     // uid not a number
            ":x:1003:1003::/:/bin/sh\n" +                   // no name
            "negative:x:-4:1004::/:/bin/sh\n" +             // not a uid
            "toolong:x:99999999999:1:: /:/bin/sh\n" +       // past 32 bits
            "extra:x:1005:1005::/:/bin/sh:more\n" +         // an eighth field
            "bob:x:1006:1006::/home/bob:/bin/sh\n");

        Assert.Equal(["0=root", "1006=bob"], Entries(file));
        Assert.Equal((6, 2), (file.MalformedLines, file.FirstMalformedLine));
    }

    [Fact]
    public void A_uid_listed_twice_keeps_its_first_name_as_getpwuid_finds_it()
    {
        var file = PasswdFile.Parse("root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/csh\n");

        Assert.Equal("root", file.Names[0]);
        Assert.Equal(0, file.MalformedLines);
    }

    [Fact]
    public void Names_come_from_the_file_and_a_uid_it_does_not_list_has_none()
    {
        File.WriteAllText(PasswdPath, "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");

        var names = new HostUserNames(PasswdPath, time: _clock);

        Assert.Equal("root", names.NameOf(0));
        Assert.Equal("alice", names.NameOf(1000));
        Assert.Null(names.NameOf(4242));
    }

    [Fact]
    public void A_changed_file_is_read_again_at_the_first_lookup_after_the_check_interval_not_before()
    {
        File.WriteAllText(PasswdPath, "alice:x:1000:1000::/home/alice:/bin/sh\n");
        var names = new HostUserNames(PasswdPath, time: _clock);
        Assert.Equal("alice", names.NameOf(1000));

        File.WriteAllText(PasswdPath, "alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n");
        File.SetLastWriteTimeUtc(PasswdPath, DateTime.UtcNow.AddMinutes(1));
        _clock.Advance(HostUserNames.CheckInterval / 2);
        Assert.Null(names.NameOf(1001));

        _clock.Advance(HostUserNames.CheckInterval);
        Assert.Equal("bob", names.NameOf(1001));
    }

    [Fact]
    public void An_unchanged_file_is_not_parsed_again()
    {
        File.WriteAllText(PasswdPath, "alice:x:1000:1000::/home/alice:/bin/sh\n");
        var names = new HostUserNames(PasswdPath, time: _clock);
        var first = names.Current;

        _clock.Advance(HostUserNames.CheckInterval * 3);
        names.NameOf(1000);

        Assert.Same(first, names.Current);
    }

    [Fact]
    public void A_missing_file_names_nobody_and_says_so_once()
    {
        var log = new CapturingLogger();

        var names = new HostUserNames(PasswdPath, log, _clock);
        _clock.Advance(HostUserNames.CheckInterval * 2);

        Assert.Null(names.NameOf(0));
        Assert.Contains(PasswdPath, Assert.Single(log));
    }

    [Fact]
    public void Malformed_lines_are_reported_when_the_file_is_read()
    {
        File.WriteAllText(PasswdPath, "root:x:0:0::/root:/bin/sh\nbroken line\n");
        var log = new CapturingLogger();

        var names = new HostUserNames(PasswdPath, log, _clock);

        Assert.Equal("root", names.NameOf(0));
        Assert.Equal(1, names.Current.MalformedLines);
        Assert.Contains("1 malformed lines skipped (the first is line 2)", Assert.Single(log));
    }

    [Fact]
    public void A_lookup_between_checks_allocates_nothing()
    {
        File.WriteAllText(PasswdPath, "alice:x:1000:1000::/home/alice:/bin/sh\n");
        var names = new HostUserNames(PasswdPath, time: _clock);
        names.NameOf(1000);
        names.NameOf(7);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (uint i = 0; i < 1_000; i++) names.NameOf(i % 2 == 0 ? 1000 : i);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    private static List<string> Entries(PasswdFile file) => [.. file.Names.OrderBy(entry => entry.Key).Select(entry => $"{entry.Key}={entry.Value}")];

    /// <summary>A clock the test moves: the re-check interval passes when the test says so.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
