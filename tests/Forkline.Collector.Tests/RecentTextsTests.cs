using System.Text;
using Forkline.Collector.Decoding;
using Forkline.Contracts.Events;

namespace Forkline.Collector.Tests;

public sealed class RecentTextsTests
{
    [Fact]
    public void A_text_seen_before_is_the_same_string_and_decoding_it_again_allocates_nothing()
    {
        var texts = new RecentTexts();
        var bytes = "/usr/bin/x86_64-linux-gnu-gcc-12"u8.ToArray();
        var first = texts.Decode(bytes);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var again = texts.Decode(bytes);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal("/usr/bin/x86_64-linux-gnu-gcc-12", again);
        Assert.Same(first, again);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Texts_that_take_each_other_s_slot_each_decode_to_their_own_value()
    {
        var texts = new RecentTexts();
        var paths = Enumerable.Range(0, 2_000).Select(i => $"/home/build/src/module{i}/file{i * 7}.c").ToList();
        for (var pass = 0; pass < 2; pass++)
            foreach (var path in paths)
                Assert.Equal(path, texts.Decode(Encoding.ASCII.GetBytes(path)));
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0xff, 0x62 })]
    [InlineData(new byte[] { 0xc3, 0xbc, 0xe6, 0x97, 0xa5 })]
    [InlineData(new byte[] { 0x0a, 0x1b })]
    [InlineData(new byte[] { })]
    public void Every_text_decodes_as_ByteText_decodes_it(byte[] bytes)
    {
        var texts = new RecentTexts();
        Assert.Equal(ByteText.Decode(bytes), texts.Decode(bytes));
        Assert.Equal(ByteText.Decode(bytes), texts.Decode(bytes));
    }

    [Fact]
    public void A_text_longer_than_the_kept_length_still_decodes_whole()
    {
        var texts = new RecentTexts();
        var argument = new string('a', 4_000) + "=" + new string('b', 95);
        Assert.Equal(argument, texts.Decode(Encoding.ASCII.GetBytes(argument)));
    }

    [Fact]
    public void Two_execs_of_one_command_share_its_path_directory_and_ASCII_arguments()
    {
        var decoder = new RecordDecoder(SampleEvents.Hooks, new DecodeCounters());
        var record = SampleEvents.Encode(SampleEvents.Exec);

        var first = Assert.IsType<ExecEvent>(decoder.Decode(record));
        var second = Assert.IsType<ExecEvent>(decoder.Decode(record));

        Assert.Same(first.Filename, second.Filename);
        Assert.Same(first.Cwd, second.Cwd);
        Assert.Equal(SampleEvents.Exec.Arguments.ToArray(), second.Arguments.ToArray());
        Assert.Same(first.Arguments[0], second.Arguments[0]);
        Assert.Same(first.Arguments[1], second.Arguments[1]);
    }
}
