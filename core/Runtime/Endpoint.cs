using System;
using System.Globalization;

namespace Kernel.Runtime;

/// <summary>A network address: a host name (a simulated node's name, or a real host) and a port.</summary>
public readonly record struct Endpoint(string Host, int Port)
{
    public override string ToString() => Host + ":" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses <c>host:port</c>; returns false with a reason on anything else.</summary>
    public static bool TryParse(string text, out Endpoint endpoint, out string error)
    {
        endpoint = default;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = $"'{text}' is not host:port";
            return false;
        }
        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            error = $"'{text}' has no port between 1 and 65535";
            return false;
        }
        endpoint = new Endpoint(text[..colon], port);
        error = "";
        return true;
    }
}
