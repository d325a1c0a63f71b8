using Forkline.Collector.Hooks;
using Forkline.Contracts.Events;

namespace Forkline.Collector.Tests;

public sealed class HookPolicyTests : IDisposable
{
    private readonly string _file = Path.GetTempFileName();

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void Credential_family_is_hooked_at_exit_even_when_the_file_omits_it()
    {
        var policy = Load("""{ "hooks": [ { "syscall": "connect" } ] }""");

        Assert.Equal("connect", policy.Hooks[0].Descriptor.Name);
        Assert.False(policy.Hooks[0].Descriptor.ChangesCredentials);
        foreach (var name in SyscallTable.CredentialFamily)
        {
            var hook = Assert.Single(policy.Hooks, hook => hook.Descriptor.Name == name);
            Assert.Equal(HookPhase.Exit, hook.Spec.Phase);
            Assert.True(hook.Descriptor.ChangesCredentials);
        }
    }

    [Fact]
    public void Descriptor_ids_are_their_index_so_the_decoder_can_look_them_up()
    {
        var policy = Load("""{ "hooks": [ { "syscall": "getppid" }, { "name": "raw", "syscall": 39, "phase": "exit" } ] }""");

        for (var i = 0; i < policy.Descriptors.Length; i++) Assert.Equal(i, policy.Descriptors[i].Id);
        Assert.Equal(39, policy.Hooks[1].Spec.SyscallNumber);
        Assert.Equal(HookPhase.Exit, policy.Hooks[1].Spec.Phase);
    }

    [Fact]
    public void Credential_syscall_listed_at_exit_is_kept_once_and_marked_as_changing_credentials()
    {
        var policy = Load("""{ "hooks": [ { "name": "su", "syscall": "setuid", "phase": "exit" } ] }""");

        var setuid = Assert.Single(policy.Hooks, hook => hook.Spec.SyscallNumber == 105);
        Assert.Equal("su", setuid.Descriptor.Name);
        Assert.True(setuid.Descriptor.ChangesCredentials);
    }

    [Fact]
    public void Unknown_syscall_name_is_an_error_naming_the_entry()
    {
        var error = Assert.Throws<HookPolicyException>(() => Load("""{ "hooks": [ { "syscall": "connect" }, { "name": "x", "syscall": "conect" } ] }"""));

        Assert.Contains("entry 1 ('x')", error.Message, StringComparison.Ordinal);
        Assert.Contains("unknown syscall name 'conect'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "hooks": [ { "syscall": "connect", "phase": "later" } ] }""", "phase 'later'")]
    [InlineData("""{ "hooks": [ { "kind": "kprobe" } ] }""", "needs \"symbol\"")]
    [InlineData("""{ "hooks": [ { "kind": "uprobe", "symbol": "x" } ] }""", "kind 'uprobe'")]
    [InlineData("""{ "hooks": [ { "syscall": 4096 } ] }""", "syscall number 4096")]
    [InlineData("""{ "hooks": [ { "syscall": "connect" }, { "name": "again", "syscall": "connect" } ] }""", "attach to the same")]
    [InlineData("""{ "hooks": [ { "syscall": "connect" }, { "name": "connect", "syscall": "bind" } ] }""", "two hooks are named 'connect'")]
    [InlineData("""{ "hooks": [ { "syscall": true } ] }""", "must be a syscall name or number")]
    [InlineData("""{ "hooks": [ { "syscall": "connect", "typo": 1 } ] }""", "is not valid")]
    public void Invalid_entries_are_rejected_with_the_reason(string json, string expected)
    {
        var error = Assert.Throws<HookPolicyException>(() => Load(json));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shipped_default_policy_loads()
    {
        var policy = HookPolicy.Load(Path.Combine(RepositoryFiles.Root, "deploy", "config", "hooks.json"));

        Assert.Contains(policy.Hooks, hook => hook.Spec.Kind == HookKind.Kprobe);
        Assert.Contains(policy.Hooks, hook => hook.Descriptor.Name == "connect");
    }

    private HookPolicy Load(string json)
    {
        File.WriteAllText(_file, json);
        return HookPolicy.Load(_file);
    }
}
