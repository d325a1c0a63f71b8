namespace Forkline.Gateway;

/// <summary>
/// A setting whose value is not one it allows. A settings record names the setting by its property; each
/// section it sits in adds its name on the way out (<see cref="Within"/>), so the operator reads the key they
/// wrote: "Forwarder:BatchSize '0' is not allowed: 1 or more events".
/// </summary>
public sealed class SettingOutOfRangeException(string setting, object? value, string allowed) : ArgumentOutOfRangeException(setting, value, allowed)
{
    /// <summary>The setting's key, as far as the sections it was validated in named it (Port, then Cluster:Port).</summary>
    public string Setting => ParamName!;

    /// <summary>What the setting allows, e.g. "a positive duration".</summary>
    public string Allowed { get; } = allowed;

    public override string Message => $"{Setting} '{ActualValue}' is not allowed: {Allowed}";

    /// <summary>Validates the section <paramref name="section"/>: a value it does not allow comes out under the section's key.</summary>
    public static void Within(string section, Action validate)
    {
        try
        {
            validate();
        }
        catch (SettingOutOfRangeException e)
        {
            throw new SettingOutOfRangeException($"{section}:{e.Setting}", e.ActualValue, e.Allowed);
        }
    }
}
