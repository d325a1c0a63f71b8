namespace Forkline.Gateway;

/// <summary>
/// A setting whose value is not one it allows. The settings record names the setting by its property;
/// the configuration layer adds the section, so the operator reads the key they wrote.
/// </summary>
public sealed class SettingOutOfRangeException(string setting, object? value, string allowed) : ArgumentOutOfRangeException(setting, value, allowed)
{
    public string Setting => ParamName!;

    /// <summary>What the setting allows, e.g. "a positive duration".</summary>
    public string Allowed { get; } = allowed;
}
